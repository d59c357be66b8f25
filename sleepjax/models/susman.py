"""Susman, Brenner & Barak 2019, "Stable memory with unstable synapses".

A thin assembly of general parts: `RateNetwork` dynamics, rate STDP, one of
three homeostatic rules, additive weight noise, OU plane stimuli, retrieval
pulses and memory insertion events. Each protocol returns an `Experiment`.

Parameters split into `SusmanOptions` (static structure: sizes, rule names,
paper/code variants) and `SusmanParams` (numbers, pytree leaves: sweep them with
`jax.vmap`, fit them with `jax.grad`).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._errors import as_param, check_choice, check_finite, check_positive
from .._experiment import Experiment, save_grid
from .._model import Model
from .._noise import WeightNoise
from .._schedule import PiecewiseConstant
from ..analysis import eigenplane, memory_eigenvalue_and_overlap, plane_overlap
from ..dynamics import RateNetwork
from ..plasticity import (
    AbstractRule,
    AntisymmetricSTDP,
    Decorrelation,
    Dissipation,
    Gain,
    RateControl,
    RateSTDP,
    SumRule,
)
from ..protocols import AddWeights, OUPlaneStimulus, Pulse, memory_matrix

RULES = ("dissipation", "rate_control", "decorrelation")
CODES = ("imaginary", "real")


@dataclasses.dataclass(frozen=True)
class SusmanOptions:
    """Static structure of a Susman network (changing it recompiles).

    **Fields:**

    - `n`: number of neurons. Default 128.
    - `rule`: homeostasis, `"dissipation"`, `"rate_control"` or
      `"decorrelation"`.
    - `dt`: step (time units). Default 0.1.
    - `rate_control`: `"matmul"` (authors' code, default) or `"hadamard"`
      (paper).
    - `xbar`: decorrelation low-pass, `"lowpass"` (paper, default) or `"code"`.
      Use `"code"` to reproduce the published erosion figures: with a true
      low-pass and B = 0.5 (or the paper's B = 1) the B·I term grows W's
      diagonal once x̄ ≈ x, and the imaginary memory is lost by t ≈ 10⁴.
    - `noise_form`: `"sde"` (default, Wiener increments) or `"code"` (η·dt·ξ).
    - `stdp`: `"antisymmetric"` (default) or `"asymmetric"` (a_P, a_D, τ_P,
      τ_D).
    """

    n: int = 128
    rule: Literal["dissipation", "rate_control", "decorrelation"] = "dissipation"
    dt: float = 0.1
    rate_control: Literal["matmul", "hadamard"] = "matmul"
    xbar: Literal["lowpass", "code"] = "lowpass"
    noise_form: Literal["sde", "code"] = "sde"
    stdp: Literal["antisymmetric", "asymmetric"] = "antisymmetric"

    def __post_init__(self):
        if not isinstance(self.n, int) or self.n < 2:
            raise ValueError(f"`n` must be an int >= 2, got {self.n!r}.")
        check_choice("rule", self.rule, RULES)
        check_positive("dt", self.dt)
        check_choice("rate_control", self.rate_control, ("matmul", "hadamard"))
        check_choice("xbar", self.xbar, ("lowpass", "code"))
        check_choice("noise_form", self.noise_form, ("sde", "code"))
        check_choice("stdp", self.stdp, ("antisymmetric", "asymmetric"))


def _p(name, default):
    return eqx.field(converter=lambda v: as_param(v, name), default=default)


class SusmanParams(eqx.Module):
    """Numbers of a Susman network; every field is a leaf (sweepable, fittable).

    Defaults are the authors' code (SPEC.md §1). Units: time in neuronal time
    constants; rates, weights and inputs dimensionless.

    **Fields:**

    - `eta`: learning rate η (per time unit). 0.01.
    - `tau_y`: antisymmetric-STDP trace time constant. 50 (paper).
    - `a_P`, `a_D`, `tau_P`, `tau_D`: asymmetric STDP (`stdp="asymmetric"`).
    - `beta`: dissipation rate β. 0.1.
    - `noise`: weight-noise amplitude in units of 1/√N (σ = noise/√N). 1.
    - `b`: decorrelation constant B. 0.5 (code; paper 1).
    - `tau_x`: decorrelation low-pass time constant. 20.
    - `code_factor`: x̄ = c·x for `xbar="code"`. 0.0995.
    - `strength`: inserted memory strength. 5.
    - `amplitude`: OU input amplitude A. 10.
    - `zeta`: OU input decay ζ. 0.01.
    - `w0_scale`: initial W = w0_scale·randn/√N. 2.
    """

    eta: Float[Array, ""] = _p("eta", 0.01)
    tau_y: Float[Array, ""] = _p("tau_y", 50.0)
    a_P: Float[Array, ""] = _p("a_P", 1.0)
    a_D: Float[Array, ""] = _p("a_D", -1.0)
    tau_P: Float[Array, ""] = _p("tau_P", 50.0)
    tau_D: Float[Array, ""] = _p("tau_D", 50.0)
    beta: Float[Array, ""] = _p("beta", 0.1)
    noise: Float[Array, ""] = _p("noise", 1.0)
    b: Float[Array, ""] = _p("b", 0.5)
    tau_x: Float[Array, ""] = _p("tau_x", 20.0)
    code_factor: Float[Array, ""] = _p("code_factor", 0.0995)
    strength: Float[Array, ""] = _p("strength", 5.0)
    amplitude: Float[Array, ""] = _p("amplitude", 10.0)
    zeta: Float[Array, ""] = _p("zeta", 0.01)
    w0_scale: Float[Array, ""] = _p("w0_scale", 2.0)

    def __check_init__(self):
        for f in dataclasses.fields(self):
            check_finite(f.name, getattr(self, f.name))
        for name in ("tau_y", "tau_P", "tau_D", "tau_x"):
            check_positive(name, getattr(self, name))
        for name in ("beta", "noise", "zeta", "w0_scale", "eta"):
            check_positive(name, getattr(self, name), allow_zero=True)


PARAM_NAMES = tuple(f.name for f in dataclasses.fields(SusmanParams))


# ---------------------------------------------------------------- builders
def homeostasis(
    opts: SusmanOptions, p: SusmanParams, key: PRNGKeyArray
) -> AbstractRule:
    """The homeostatic rule named by `opts.rule` (φ0 ~ U[-1, 1] for rate control)."""
    if opts.rule == "dissipation":
        return Dissipation(beta=p.beta)
    if opts.rule == "rate_control":
        phi0 = jr.uniform(key, (opts.n,), minval=-1.0, maxval=1.0)
        return RateControl(phi0, variant=opts.rate_control)
    return Decorrelation(
        b=p.b, xbar=opts.xbar, tau_x=p.tau_x, code_factor=p.code_factor
    )


def stdp(opts: SusmanOptions, p: SusmanParams) -> AbstractRule:
    """Rate STDP: antisymmetric (τ_y) or asymmetric (a_P, a_D, τ_P, τ_D)."""
    if opts.stdp == "antisymmetric":
        return AntisymmetricSTDP(tau_y=p.tau_y)
    return RateSTDP(a_P=p.a_P, a_D=p.a_D, tau_P=p.tau_P, tau_D=p.tau_D)


def build_model(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    stdp_gain=None,
    stimuli=(),
) -> Model:
    """Rate network + (gated) STDP + homeostasis + weight noise σ = noise/√N.

    `stdp_gain`: `None` for no STDP, else a number or schedule multiplying Δ_L.
    """
    rules = [homeostasis(opts, p, key)]
    if stdp_gain is not None:
        rules.insert(0, Gain(stdp(opts, p), stdp_gain))
    plasticity = rules[0] if len(rules) == 1 else SumRule(*rules)
    return Model(
        RateNetwork(n=opts.n),
        plasticity,
        eta=p.eta,
        weight_noise=WeightNoise(p.noise / np.sqrt(opts.n), form=opts.noise_form),
        stimuli=stimuli,
    )


def gaussian_plane(key, n: int):
    """u, v ~ N(0, 1/N) (erosion)."""
    ku, kv = jr.split(key)
    return jr.normal(ku, (n,)) / np.sqrt(n), jr.normal(kv, (n,)) / np.sqrt(n)


def binary_planes(key, n: int, n_planes: int = 1) -> Float[Array, "p 2 n"]:
    """Exactly orthogonal, balanced ±1/√N planes (limit cycle, learning).

    With m = 2·n_planes vectors, the neurons are randomly permuted and cut into
    2^m equal groups; vector j has sign +1 on the groups whose index has bit j
    set. Every vector is balanced, every pair is exactly orthogonal, and each
    pair takes all four sign combinations equally often (which makes the
    limit-cycle reduction of SPEC V4 exact). Needs n divisible by 4^n_planes.
    """
    m = 2 * n_planes
    if n % (2**m):
        raise ValueError(
            f"{n_planes} binary plane(s) need n divisible by {2**m}; got n={n}."
        )
    group = jr.permutation(key, n) // (n // 2**m)
    bits = (group[None, :] >> jnp.arange(m)[:, None]) & 1
    vecs = (2.0 * bits - 1.0) / np.sqrt(n)
    return vecs.reshape(n_planes, 2, n)


class SusmanObservables(eqx.Module):
    """Summaries saved along a run, for each memory plane (u_k, v_k).

    Returns a dict of arrays:

    - `mem_re`, `mem_im` `(p,)`: memory eigenvalue (largest eigenvector
      projection onto span(u_k, v_k); Im ≥ 0). For a real code, span(u).
    - `mem_proj` `(p,)`: that projection (1 = eigenvector inside the plane).
    - `p_u`, `p_v` `(p,)`: reduced coordinates (u_k·x, v_k·x)/|u_k|... see
      `sleepjax.analysis.reduced_coordinates`.
    - `plane_rho`, `plane_gamma` `(p,)`: rotation ρ = (uᵀWv − vᵀWu)/2 and
      self-excitation γ = (uᵀWu + vᵀWv)/2 of W in the plane (see
      `sleepjax.analysis.plane_block`); the plane's linearised eigenvalues
      in SPEC V4 are (γ − 1) ± iρ. Cheap: no eigensolver.
    - `w_mean`, `w_std`, `rate_mean`, `rate_std`: scalars.
    - `plane_overlap` `(p,)` when `eigenplanes=True`: overlap of the memory
      eigenvector's real plane with span(u_k, v_k) (1 = same plane).
    """

    planes: Float[Array, "p 2 n"]
    real: bool = eqx.field(static=True, default=False)
    eigenplanes: bool = eqx.field(static=True, default=False)
    spectral: bool = eqx.field(static=True, default=True)

    def __call__(self, t, y, model):
        from ..analysis import plane_block, reduced_coordinates

        W = y.W
        act = model.dynamics.activity(y.neurons)
        out = {}
        if self.spectral:
            re, im, proj, ov = [], [], [], []
            for k in range(self.planes.shape[0]):
                u, v = self.planes[k]
                me = memory_eigenvalue_and_overlap(W, u, None if self.real else v)
                re.append(jnp.real(me.eigenvalue))
                im.append(jnp.imag(me.eigenvalue))
                proj.append(me.overlap)
                if self.eigenplanes:
                    a, b = eigenplane(W, u, None if self.real else v)
                    ov.append(plane_overlap(a, b, u, v))
            out.update(
                mem_re=jnp.stack(re), mem_im=jnp.stack(im), mem_proj=jnp.stack(proj)
            )
            if self.eigenplanes:
                out["plane_overlap"] = jnp.stack(ov)
        pu, pv = jax.vmap(lambda pl: reduced_coordinates(act.x, pl[0], pl[1]))(
            self.planes
        )
        rho, gamma = jax.vmap(lambda pl: plane_block(W, pl[0], pl[1]))(self.planes)
        out.update(
            p_u=pu,
            p_v=pv,
            plane_rho=rho,
            plane_gamma=gamma,
            w_mean=jnp.mean(W),
            w_std=jnp.std(W),
            rate_mean=jnp.mean(act.phi),
            rate_std=jnp.std(act.phi),
        )
        return out


def _init_state(model: Model, opts: SusmanOptions, p: SusmanParams, key, W=None):
    kx, kw = jr.split(key)
    if W is None:
        W = p.w0_scale * jr.normal(kw, (opts.n, opts.n)) / np.sqrt(opts.n)
    return model.init(kx, W=W)


def _ou_stimulus(u, v, p: SusmanParams, window, tail=False) -> OUPlaneStimulus:
    """OU input of amplitude A = `p.amplitude` in plane (u, v) during `window`
    (with `tail`, the decaying drive stays on after it, as in the authors' code)."""
    return OUPlaneStimulus(
        u,
        v,
        amplitude=p.amplitude,
        t_on=window[0],
        t_off=window[1],
        zeta=p.zeta,
        tail=tail,
    )


def _experiment(
    model: Model,
    state0,
    observe: SusmanObservables,
    opts: SusmanOptions,
    t_end: float,
    save_every: float,
    events=(),
    save_ts=None,
) -> Experiment:
    """A protocol run from t = 0 to `t_end`, saving `observe` every `save_every`
    (or at `save_ts` when given)."""
    return Experiment(
        model,
        state0,
        t0=0.0,
        t1=t_end,
        dt=opts.dt,
        save_ts=save_grid(0.0, t_end, save_every) if save_ts is None else save_ts,
        observe=observe,
        events=events,
    )


# --------------------------------------------------------------- protocols
def erosion(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    code: str = "imaginary",
    t_insert: float = 3000.0,
    t_end: float = 10000.0,
    save_every: float = 50.0,
    stdp_after_insert: bool = False,
) -> Experiment:
    """Erosion (paper Fig. 2): equilibrate with homeostasis and noise only, insert
    `strength·(uvᵀ − vuᵀ)` (imaginary) or `strength·uuᵀ` (real) at `t_insert`,
    with u, v ~ N(0, 1/N), and run to `t_end`. Δ_L is off (on after insertion if
    `stdp_after_insert`)."""
    check_choice("code", code, CODES)
    k_rule, k_uv, k_init = jr.split(key, 3)
    u, v = gaussian_plane(k_uv, opts.n)
    gain = PiecewiseConstant([t_insert], [0.0, 1.0]) if stdp_after_insert else None
    model = build_model(opts, p, k_rule, stdp_gain=gain)
    state0 = _init_state(model, opts, p, k_init)
    delta = memory_matrix(u, v, p.strength, code)
    obs = SusmanObservables(jnp.stack([u, v])[None], real=(code == "real"))
    return _experiment(
        model,
        state0,
        obs,
        opts,
        t_end,
        save_every,
        events=(AddWeights(t_insert, delta),),
    )


def learning(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    window: tuple[float, float] = (500.0, 600.0),
    t_end: float = 3000.0,
    save_every: float = 25.0,
) -> Experiment:
    """Learning (paper Fig. 3): OU input in plane (u, v) (binary ±1/√N) during
    `window`, antisymmetric STDP + homeostasis + noise throughout. Defaults are
    rate-control learning; decorrelation learning uses window (200, 300),
    t_end 1200, A = 25, τ_y = 50."""
    k_rule, k_uv, k_init, _ = jr.split(key, 4)
    ((u, v),) = binary_planes(k_uv, opts.n, 1)
    model = build_model(
        opts, p, k_rule, stdp_gain=1.0, stimuli=(_ou_stimulus(u, v, p, window),)
    )
    state0 = _init_state(model, opts, p, k_init)
    obs = SusmanObservables(jnp.stack([u, v])[None], eigenplanes=True)
    return _experiment(model, state0, obs, opts, t_end, save_every)


def limit_cycle(
    opts: SusmanOptions,
    key: PRNGKeyArray,
    *,
    rho: float = 1.0,
    gamma: float = 1.5,
    n_planes: int = 1,
    cue_plane: int = 0,
    cue: float = 10.0,
    t_cue: float = 5.0,
    cue_duration: float = 2.0,
    t_end: float = 100.0,
    save_every: float = 0.1,
    x0_scale: float = 0.01,
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
    return _experiment(model, state0, obs, opts, t_end, save_every)


def life_cycle(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    windows: tuple[tuple[float, float], ...] = ((500.0, 600.0), (1500.0, 1600.0)),
    t_retain: float = 3000.0,
    cue: float = 10.0,
    cue_fraction: float = 0.5,
    cue_duration: float = 2.0,
    cue_gap: float = 100.0,
    save_every: float = 1.0,
    cue_save_every: float | None = None,
    cue_window: float = 20.0,
    tail: bool = False,
) -> Experiment:
    """Life cycle (paper Fig. 5): learn two planes one after the other (OU input
    windows), retain until `t_retain`, then cue each plane with a partial cue
    (the first `cue_fraction` of u's entries) and finally a novel pattern,
    `cue_gap` apart. Plasticity (STDP + homeostasis + noise) stays on.

    Saves every `save_every`, and, when `cue_save_every` is given, also every
    `cue_save_every` from 1 time unit before each cue to `cue_window` after
    its onset (to resolve the response, which lasts a few time units).
    `tail=True` keeps each OU drive on after its window, decaying, as the
    authors' code does (see `OUPlaneStimulus`)."""
    if cue_save_every is not None and not cue_save_every > 0:
        raise ValueError(f"`cue_save_every` must be > 0, got {cue_save_every!r}.")
    if not 0 < cue_window <= cue_gap:
        raise ValueError(
            f"`cue_window` must be in (0, cue_gap = {cue_gap:g}], got {cue_window!r}."
        )
    k_rule, k_uv, k_init, k_novel = jr.split(key, 4)
    n_mem = len(windows)
    planes = binary_planes(k_uv, opts.n, n_mem + 1)  # last one: the novel pattern
    stimuli = [_ou_stimulus(*planes[i], p, w, tail) for i, w in enumerate(windows)]
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
    state0 = _init_state(model, opts, p, k_init)
    obs = SusmanObservables(planes, eigenplanes=True)
    return _experiment(model, state0, obs, opts, t_end, save_every, save_ts=save_ts)
