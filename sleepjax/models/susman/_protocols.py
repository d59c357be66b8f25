"""The protocols of Susman et al. 2019: erosion, learning, limit cycle, life
cycle. Each returns an `Experiment`; their keyword settings (with the domains
annotated here) are what `[protocol]` sections of configs may set."""

from __future__ import annotations

from typing import Annotated, Literal

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ..._errors import InRun, Interval, NonNegative, OnGrid, Positive
from ..._experiment import Experiment, save_grid
from ..._model import Model
from ..._schedule import PiecewiseConstant
from ..._state import NetworkState
from ...dynamics import RateNetwork
from ...stimuli import AddWeights, Pulse, memory_matrix
from ._build import (
    binary_planes,
    build_model,
    experiment,
    gaussian_plane,
    init_state,
    ou_stimulus,
)
from ._equilibrate import equilibrated_state
from ._observables import SusmanObservables
from ._options import SusmanOptions, SusmanParams

Time = Annotated[float, OnGrid()]
Duration = Annotated[float, Positive()]


# --------------------------------------------------------------- protocols
def erosion(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    code: Literal["imaginary", "real"] = "imaginary",
    t_insert: Time = 3000.0,
    t_end: Time = 10000.0,
    save_every: Time = 50.0,
    stdp_after_insert: bool = False,
    save_insertion: bool = False,
) -> Experiment:
    """Erosion (paper Fig. 2): equilibrate with homeostasis and noise only, insert
    `strength·(uvᵀ − vuᵀ)` (imaginary) or `strength·uuᵀ` (real) at `t_insert`,
    with u, v ~ N(0, 1/N), and run to `t_end`. Δ_L is off (on after insertion if
    `stdp_after_insert`). Saves every `save_every` (and, with
    `save_insertion`, one step after the insertion: its moment); the memory
    observables are NaN until the memory exists."""
    if code not in ("imaginary", "real"):
        raise ValueError(f"`code` must be 'imaginary' or 'real', got {code!r}.")
    if t_insert > t_end:
        raise ValueError(
            f"t_insert ({t_insert}) must come before t_end ({t_end}), or at it."
        )
    k_rule, k_uv, k_init = jr.split(key, 3)
    u, v = gaussian_plane(k_uv, opts.n)
    gain = PiecewiseConstant([t_insert], [0.0, 1.0]) if stdp_after_insert else None
    model = build_model(opts, p, k_rule, stdp_gain=gain)
    state0 = init_state(model, opts, p, k_init)
    delta = memory_matrix(u, v, p.strength, code)
    obs = SusmanObservables(
        jnp.stack([u, v])[None], real=(code == "real"), t_insert=t_insert
    )
    # the save grid, and the first step after the insertion (its moment)
    save_ts = save_grid(0.0, t_end, save_every)
    if save_insertion and t_insert < t_end:
        save_ts = np.union1d(save_ts, [t_insert + opts.dt])
    return experiment(
        model,
        state0,
        obs,
        opts,
        t_end,
        save_every,
        events=(AddWeights(t_insert, delta),),
        save_ts=save_ts,
    )


def _start(model, opts, p, key, k_rule, k_init, start, t_equilibrate):
    """The initial state: random (x ~ N(0, 1), W = w0_scale·randn/√N) or that
    network after `t_equilibrate` of equilibration (homeostasis + weight
    noise, no STDP, no input; `equilibrated_state`), its noise drawn from
    fold_in(key, 1)."""
    if start == "random":
        return init_state(model, opts, p, k_init)
    if start != "equilibrated":
        raise ValueError(f"`start` must be 'random' or 'equilibrated', got {start!r}.")
    x, W, rule_state = equilibrated_state(
        opts, p, k_rule, k_init, jr.fold_in(key, 1), t_equilibrate
    )
    state0 = model.init(None, W=W)
    rules = (*state0.rules[:-1], rule_state)  # STDP traces from 0, x̄ carried on
    return NetworkState(neurons=x, W=W, rules=rules, stimulus=state0.stimulus)


def learning(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    window: Annotated[tuple[float, float], InRun()] = (500.0, 600.0),
    t_end: Time = 3000.0,
    save_every: Time = 25.0,
    start: Literal["random", "equilibrated"] = "random",
    t_equilibrate: Annotated[float, Positive()] = 3000.0,
) -> Experiment:
    """Learning (paper Fig. 3): OU input in plane (u, v) (binary ±1/√N) during
    `window`, antisymmetric STDP + homeostasis + noise throughout. Defaults are
    rate-control learning; decorrelation learning uses window (200, 300),
    t_end 1200, A = 25, τ_y = 50. `start = "equilibrated"` starts from the
    network after `t_equilibrate` of the `equilibrate` protocol (as the
    authors' decorrelation learning starts from a saved network)."""
    k_rule, k_uv, k_init, _ = jr.split(key, 4)
    ((u, v),) = binary_planes(k_uv, opts.n, 1)
    model = build_model(
        opts, p, k_rule, stdp_gain=1.0, stimuli=(ou_stimulus(u, v, p, window),)
    )
    state0 = _start(model, opts, p, key, k_rule, k_init, start, t_equilibrate)
    obs = SusmanObservables(jnp.stack([u, v])[None], eigenplanes=True)
    return experiment(model, state0, obs, opts, t_end, save_every)


def limit_cycle(
    opts: SusmanOptions,
    key: PRNGKeyArray,
    *,
    rho: float = 1.0,
    gamma: float = 1.5,
    n_planes: Annotated[int, Positive()] = 1,
    cue_plane: Annotated[int, NonNegative()] = 0,
    cue: float = 10.0,
    t_cue: Annotated[float, Positive(), InRun()] = 5.0,
    cue_duration: Duration = 2.0,
    t_end: Time = 100.0,
    save_every: Time = 0.1,
    x0_scale: Annotated[float, NonNegative()] = 0.01,
) -> Experiment:
    """Limit cycle / associative retrieval (paper Fig. 4): frozen weights
    W = Σ_k ρ(u_k v_kᵀ − v_k u_kᵀ) + γ(u_k u_kᵀ + v_k v_kᵀ) with orthogonal
    binary planes; a pulse of amplitude `cue` along u of `cue_plane` for
    `cue_duration` starting at `t_cue`. No plasticity, no noise."""
    if not 0 <= cue_plane < n_planes:
        raise ValueError(f"`cue_plane` must be in [0, {n_planes}), got {cue_plane}.")
    k_uv, k_x = jr.split(key)
    planes = binary_planes(k_uv, opts.n, n_planes)
    W = sum(
        rho * (jnp.outer(u, v) - jnp.outer(v, u))
        + gamma * (jnp.outer(u, u) + jnp.outer(v, v))
        for u, v in planes
    )
    pulse = Pulse(planes[cue_plane, 0], cue, t_cue, cue_duration)
    model = Model(RateNetwork(n=opts.n, x0_scale=x0_scale), None, stimuli=(pulse,))
    state0 = model.init(k_x, W=W)
    obs = SusmanObservables(planes, spectral=False)
    return experiment(model, state0, obs, opts, t_end, save_every)


def life_cycle(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    windows: Annotated[tuple[tuple[float, float], ...], InRun()] = (
        (500.0, 600.0),
        (1500.0, 1600.0),
    ),
    t_retain: Time = 3000.0,
    cue: float = 10.0,
    cue_fraction: Annotated[float, Interval(0.0, 1.0)] = 0.5,
    cue_duration: Duration = 2.0,
    cue_gap: Duration = 100.0,
    save_every: Time = 1.0,
    cue_save_every: float | None = None,
    cue_window: Duration = 20.0,
    tail: bool = False,
    start: Literal["random", "equilibrated"] = "random",
    t_equilibrate: Annotated[float, Positive()] = 3000.0,
) -> Experiment:
    """Life cycle (paper Fig. 5): learn two planes one after the other (OU input
    windows), retain until `t_retain`, then cue each plane with a partial cue
    (the first `cue_fraction` of u's entries) and finally a novel pattern,
    `cue_gap` apart. Plasticity (STDP + homeostasis + noise) stays on.

    Saves every `save_every`, and, when `cue_save_every` is given, also every
    `cue_save_every` from 1 time unit before each cue to `cue_window` after
    its onset (to resolve the response, which lasts a few time units).
    `tail=True` keeps each OU drive on after its window, decaying, as the
    authors' code does (see `OUPlaneStimulus`). `start`, `t_equilibrate`: as
    in `learning`."""
    if cue_save_every is not None and not cue_save_every > 0:
        raise ValueError(f"`cue_save_every` must be > 0, got {cue_save_every!r}.")
    if not 0 < cue_window <= cue_gap:
        raise ValueError(
            f"`cue_window` must be in (0, cue_gap = {cue_gap:g}], got {cue_window!r}."
        )
    k_rule, k_uv, k_init, k_novel = jr.split(key, 4)
    n_mem = len(windows)
    planes = binary_planes(k_uv, opts.n, n_mem + 1)  # last one: the novel pattern
    stimuli = [ou_stimulus(*planes[i], p, w, tail) for i, w in enumerate(windows)]
    keep = (jnp.arange(opts.n) < int(cue_fraction * opts.n)).astype(jnp.float32)
    onsets = [t_retain + i * cue_gap for i in range(n_mem + 1)]
    for i, t_on in enumerate(onsets):
        stimuli.append(Pulse(planes[i, 0] * keep, cue, t_on, cue_duration))
    t_end = t_retain + (n_mem + 1) * cue_gap
    save_ts = None
    if cue_save_every is not None:
        fine = [save_grid(t - 1.0, t + cue_window, cue_save_every) for t in onsets]
        grid = np.concatenate([save_grid(0.0, t_end, save_every), *fine])
        save_ts = np.unique(np.round(grid, 9))
        save_ts = save_ts[(save_ts >= 0.0) & (save_ts <= t_end)]
    model = build_model(opts, p, k_rule, stdp_gain=1.0, stimuli=tuple(stimuli))
    state0 = _start(model, opts, p, key, k_rule, k_init, start, t_equilibrate)
    obs = SusmanObservables(planes, eigenplanes=True)
    return experiment(model, state0, obs, opts, t_end, save_every, save_ts=save_ts)
