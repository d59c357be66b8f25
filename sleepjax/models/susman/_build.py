"""The Susman network from general parts: rate network, rate STDP, one of three
homeostatic rules, weight noise; memory planes and the initial state."""

from __future__ import annotations

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._experiment import Experiment, save_grid
from ..._model import Model
from ..._noise import WeightNoise
from ...dynamics import RateNetwork
from ...plasticity import AbstractRule, Gain, SumRule
from ...stimuli import OUPlaneStimulus
from ._options import SusmanOptions, SusmanParams
from ._rules import HOMEOSTASIS, STDP


def homeostasis(
    opts: SusmanOptions, p: SusmanParams, key: PRNGKeyArray
) -> AbstractRule:
    """The homeostatic rule named by `opts.rule` (see `HOMEOSTASIS`)."""
    return HOMEOSTASIS[opts.rule](opts, p, key)


def stdp(opts: SusmanOptions, p: SusmanParams) -> AbstractRule:
    """The rate STDP named by `opts.stdp` (see `STDP`)."""
    return STDP[opts.stdp](opts, p)


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


def init_state(model: Model, opts: SusmanOptions, p: SusmanParams, key, W=None):
    """x0 ~ N(0, 1) and W0 = w0_scale·randn/√N (unless `W` is given)."""
    kx, kw = jr.split(key)
    if W is None:
        W = p.w0_scale * jr.normal(kw, (opts.n, opts.n)) / np.sqrt(opts.n)
    return model.init(kx, W=W)


def ou_stimulus(u, v, p: SusmanParams, window, tail=False) -> OUPlaneStimulus:
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


def experiment(
    model: Model,
    state0,
    observe,
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
