"""The two-factor networks from general parts, and their protocols.

Every protocol draws M = round(αN) patterns of coding level f from its key
(exactly round(fN) ones each, or Bernoulli(f) units) and initial factors
uniform in u0·[1 − spread, 1 + spread] (consolidation: in [1 − spread,
1 + spread], then scaled to the budget zL, which makes u0 irrelevant), and
runs one epoch per step (dt = 1):

- `consolidation`: supervised consolidation (Fig. 2) for `epochs` epochs,
  saving margins, density, SNRs, factor correlations, power sums Σ w^q and
  q-norm margins every `save_every` epochs;
- `capacity`: the same run, saving only errors and the fraction of neurons
  solved (sweep `model.alpha` for the capacity);
- `night`: the wake–sleep night (Fig. 3): `wake_epochs` wake epochs, then
  `sleep_epochs` sleep epochs, saving every `save_every` epochs on a grid
  through the end of wake;
- `robustness`: the same night, saving recall curves under neural and
  synaptic noise at the end of wake and at the end of sleep.
"""

from __future__ import annotations

from typing import Annotated

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import ConfigError, Integer, OnGrid, Positive
from ..._experiment import Experiment, save_grid
from ...plasticity import FactorisedSynapses
from ._maps import Consolidation, WakeSleep
from ._observables import (
    ConsolidationObservables,
    NightObservables,
    RobustnessObservables,
)
from ._options import TwoFactorOptions, TwoFactorParams

Epochs = Annotated[int, Integer(1)]
Time = Annotated[float, OnGrid()]


def patterns(key: PRNGKeyArray, opts: TwoFactorOptions) -> Float[Array, "N M"]:
    """M patterns (columns) of N units 0/1 at coding level f (options)."""
    shape = (opts.n, opts.m)
    dtype = jnp.result_type(float)
    if opts.patterns == "bernoulli":
        return jr.bernoulli(key, opts.f, shape).astype(dtype)
    rank = jnp.argsort(jnp.argsort(jr.uniform(key, shape), axis=0), axis=0)
    return (rank < opts.k).astype(dtype)


def wake_sleep(
    opts: TwoFactorOptions, p: TwoFactorParams, key, wake_epochs: int,
    sleep_epochs: int = 0, stop_every: int = 0, stop_tol: float = 0.01,
):  # fmt: skip
    """(map, initial state) of a wake–sleep night."""
    kx, ku = jr.split(key)
    X = patterns(kx, opts)
    net = WakeSleep(
        X, p.length, p.beta, opts.f,
        p.eta_wake, p.eta, p.eta_max, p.ramp_tau, opts.z, opts.k, wake_epochs,
        sleep_epochs, stop_every, stop_tol, opts.pruning,
    )  # fmt: skip
    syn = FactorisedSynapses.uniform(ku, opts.z, opts.n, p.u0, p.spread)
    return net, net.init(syn)


def supervised(opts: TwoFactorOptions, p: TwoFactorParams, key):
    """(map, initial state) of supervised consolidation."""
    kx, ku = jr.split(key)
    X = patterns(kx, opts)
    net = Consolidation(X, p.length, p.beta, opts.f, p.eta, p.eta_theta, opts.pruning)
    syn = FactorisedSynapses.uniform(ku, opts.z, opts.n, 1.0, p.spread)
    return net, net.init(syn)


def night_grid(wake_epochs: int, t_end: int, every: int) -> np.ndarray:
    """Save times every `every` epochs through the end of wake (uniform, so
    `iterate` runs no extra steps), plus the last epoch."""
    ts = np.arange(wake_epochs % every, t_end + 1, every, dtype=float)
    return ts if ts[-1] == t_end else np.append(ts, float(t_end))


def _every(save_every: float) -> int:
    if save_every != int(save_every):
        raise ConfigError(
            f"[protocol] save_every must be whole epochs, got {save_every}."
        )
    return int(save_every)


# --------------------------------------------------------------- protocols
def consolidation(
    opts: TwoFactorOptions,
    p: TwoFactorParams,
    key: PRNGKeyArray,
    *,
    epochs: Epochs = 20000,
    save_every: Time = 500.0,
) -> Experiment:
    """Supervised consolidation (Fig. 2): hard-min perceptron steps until every
    pattern is right, then soft-min replay, for `epochs` epochs; saves margins,
    density, SNRs, factor correlations, power sums Σ w^q and q-norm margins."""
    every = _every(save_every)
    net, y0 = supervised(opts, p, key)
    return Experiment(
        net, y0, t0=0.0, t1=float(epochs), dt=1.0,
        save_ts=save_grid(0.0, float(epochs), float(every)),
        observe=ConsolidationObservables(full=True),
    )  # fmt: skip


def capacity(
    opts: TwoFactorOptions,
    p: TwoFactorParams,
    key: PRNGKeyArray,
    *,
    epochs: Epochs = 5000,
    save_every: Time = 500.0,
) -> Experiment:
    """Capacity: supervised consolidation for `epochs` epochs, saving the
    fraction of neurons (perceptrons) that get every pattern right; sweep
    `model.alpha` (and `model.f`) for the load at which half succeed."""
    every = _every(save_every)
    net, y0 = supervised(opts, p, key)
    return Experiment(
        net, y0, t0=0.0, t1=float(epochs), dt=1.0,
        save_ts=save_grid(0.0, float(epochs), float(every)),
        observe=ConsolidationObservables(full=False),
    )  # fmt: skip


def night(
    opts: TwoFactorOptions,
    p: TwoFactorParams,
    key: PRNGKeyArray,
    *,
    wake_epochs: Epochs = 35,
    sleep_epochs: Epochs = 100000,
    save_every: Time = 100.0,
    stop_every: Annotated[int, Integer(0)] = 0,
    stop_tol: Annotated[float, Positive()] = 0.01,
) -> Experiment:
    """The wake–sleep night (Fig. 3): `wake_epochs` epochs of one-shot Hebbian
    encoding with k-WTA, then `sleep_epochs` epochs of soft-min replay of the
    patterns that are attractors after wake, with pruning and homeostatic
    scaling; saves margins, SNRs, density, factor correlations, per-memory
    margins and pruning by initial strength. With `stop_every` > 0 the night
    freezes once converged (checked every `stop_every` sleep epochs: the
    relative change of the density and of the L2 and synaptic margins,
    extrapolated linearly over the epochs left, below `stop_tol`)."""
    every = _every(save_every)
    t_end = wake_epochs + sleep_epochs
    net, y0 = wake_sleep(opts, p, key, wake_epochs, sleep_epochs, stop_every, stop_tol)
    return Experiment(
        net, y0, t0=0.0, t1=float(t_end), dt=1.0,
        save_ts=night_grid(wake_epochs, t_end, every),
        observe=NightObservables(),
    )  # fmt: skip


def robustness(
    opts: TwoFactorOptions,
    p: TwoFactorParams,
    key: PRNGKeyArray,
    *,
    wake_epochs: Epochs = 35,
    sleep_epochs: Epochs = 100000,
    neural_max: Annotated[float, Positive()] = 0.5,
    synaptic_max: Annotated[float, Positive()] = 2.0,
    levels: Annotated[int, Integer(2)] = 16,
    tests: Annotated[int, Integer(1)] = 8,
    recall_steps: Annotated[int, Integer(1)] = 50,
    stop_every: Annotated[int, Integer(0)] = 0,
    stop_tol: Annotated[float, Positive()] = 0.01,
) -> Experiment:
    """Robustness before vs after sleep: the night of `night`, saving at the end
    of wake and at the end of sleep the fraction of replayed memories recalled
    (≤ 0.2·N·f wrong units after `recall_steps` synchronous steps without
    k-WTA, `tests` draws) under balanced bit flips (f_noise/f from 0 to
    `neural_max`) and under noise σ/⟨u⟩ on factor 1 (0 to `synaptic_max`),
    each at `levels` levels; `stop_every`, `stop_tol` as in `night`."""
    t_end = wake_epochs + sleep_epochs
    net, y0 = wake_sleep(opts, p, key, wake_epochs, sleep_epochs, stop_every, stop_tol)
    obs = RobustnessObservables(
        jr.fold_in(key, 2),  # the noise draws: independent of patterns and factors
        jnp.linspace(0.0, neural_max, levels),
        jnp.linspace(0.0, synaptic_max, levels),
        tests=tests,
        steps=recall_steps,
    )
    return Experiment(
        net, y0, t0=0.0, t1=float(t_end), dt=1.0,
        save_ts=(float(wake_epochs), float(t_end)), observe=obs,
    )  # fmt: skip
