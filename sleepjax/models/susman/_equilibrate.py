"""Equilibration (the authors' saved starting network, SPEC §1 item 6):
homeostasis and weight noise, no STDP and no input, from the random start
until the spectrum of W is stationary.

**Stationarity criterion.** The statistics of the spectrum saved along the run
(`STAT_NAMES`: mean Re λ = tr W/N, the largest and smallest Re λ, the largest
|Im λ| and the bulk radius √N·std of the off-diagonal weights) are
stationary at save time t when, for each of them, its mean over (t − w, t]
differs from its mean over (t − 2w, t − w] by less than `tol` times the
spectral radius max|λ| at t (`sleepjax.analysis.stationary`; defaults
w = 500 τ, tol = 0.05). The equilibration time is the first save at which
that holds.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ..._errors import Interval, OnGrid, Positive
from ..._experiment import Experiment
from ..._simulate import simulate
from ..._spec import AbstractObservables
from ...analysis import stationary
from ._build import build_model, experiment, init_state
from ._options import SusmanOptions, SusmanParams

Time = Annotated[float, OnGrid()]

#: the spectrum statistics the criterion watches
STAT_NAMES = ("re_mean", "re_max", "re_min", "im_max", "bulk_radius")

_UNITS = {
    "re_mean": ("mean Re λ", "1/τ", "tr W / N: mean real part of W's eigenvalues"),
    "re_max": ("largest Re λ", "1/τ", "spectral abscissa of W"),
    "re_min": ("smallest Re λ", "1/τ", "smallest real part of W's eigenvalues"),
    "im_max": ("largest |Im λ|", "1/τ", "largest imaginary part of W's eigenvalues"),
    "radius": ("spectral radius", "1/τ", "max |λ| of W"),
    "bulk_radius": (
        "bulk radius",
        "1/τ",
        "√N · std of the off-diagonal weights (circular-law radius)",
    ),
    "eig_re": ("Re λ", "1/τ", "real parts of W's eigenvalues, ascending"),
    "eig_im": ("Im λ", "1/τ", "imaginary parts of W's eigenvalues (same order)"),
    "rate_mean": ("mean rate", "1", "mean of φ = tanh(x)"),
    "rate_std": ("rate std", "1", "standard deviation of φ"),
}


class SpectrumObservables(AbstractObservables):
    """The spectrum of W and the rates, saved along an equilibration run:
    the statistics of `STAT_NAMES`, `radius`, `rate_mean`, `rate_std`, and
    every eigenvalue (`eig_re`, `eig_im`, shape `(n,)`, sorted by real
    part). Uses `jnp.linalg.eigvals` (CPU)."""

    units: ClassVar = _UNITS
    families: ClassVar = {
        "spectrum": STAT_NAMES,
        "eigenvalues": ("eig_re", "eig_im"),
        "rates": ("rate_mean", "rate_std"),
    }
    default_fit: ClassVar = STAT_NAMES
    headline: ClassVar = ("re_mean", "re_max", "im_max", "bulk_radius")
    time_units: ClassVar = "τ (the neuronal time constant)"

    @property
    def names(self) -> tuple[str, ...]:
        return (*STAT_NAMES, "radius", "eig_re", "eig_im", "rate_mean", "rate_std")

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        if name in ("eig_re", "eig_im"):
            return ("eig",)
        return super().dims(name, ndim)

    def __call__(self, t, y, model):
        W = y.W
        n = W.shape[0]
        lam = jnp.linalg.eigvals(W)
        order = jnp.argsort(jnp.real(lam))
        lam = lam[order]
        off = W - jnp.diag(jnp.diag(W))
        off_mean = jnp.sum(off) / (n * (n - 1))
        off_var = (jnp.sum(off**2) - n * (n - 1) * off_mean**2) / (n * (n - 1))
        phi = model.dynamics.activity(y.neurons).phi
        return {
            "re_mean": jnp.trace(W) / n,
            "re_max": jnp.max(jnp.real(lam)),
            "re_min": jnp.min(jnp.real(lam)),
            "im_max": jnp.max(jnp.abs(jnp.imag(lam))),
            "bulk_radius": jnp.sqrt(n * jnp.maximum(off_var, 0.0)),
            "radius": jnp.max(jnp.abs(lam)),
            "eig_re": jnp.real(lam),
            "eig_im": jnp.imag(lam),
            "rate_mean": jnp.mean(phi),
            "rate_std": jnp.std(phi),
        }


def stationarity(t, stats, radius, window: float, tol: float):
    """Per save, whether the spectrum is stationary (module docs), and the
    equilibration time (first stationary save; NaN if none).

    `t`: save times (uniform grid); `stats`: `(time, len(STAT_NAMES))`;
    `radius`: `(time,)` spectral radius."""
    t = np.asarray(t, float)
    m = max(1, round(window / float(t[1] - t[0])))
    ok = np.asarray(stationary(stats, radius, m, tol))
    t_eq = float(t[np.argmax(ok)]) if ok.any() else float("nan")
    return ok, t_eq


def equilibrate(
    opts: SusmanOptions,
    p: SusmanParams,
    key: PRNGKeyArray,
    *,
    t_end: Time = 3000.0,
    save_every: Time = 10.0,
    window: Annotated[float, Positive()] = 500.0,
    tol: Annotated[float, Interval(0.0, 1.0, open=True)] = 0.05,
) -> Experiment:
    """Equilibration (the authors' saved starting network): homeostasis and
    weight noise only, no STDP and no input, from the random start
    W = w0_scale·randn/√N to `t_end`, saving the spectrum every `save_every`.
    The report finds the first time the spectrum is stationary by the
    criterion of the module docs (`window`, `tol`). Same key, same network:
    the learning protocols' `start = "equilibrated"` runs exactly this to
    `t_equilibrate` (with their own key)."""
    if not 2 * window <= t_end:
        raise ValueError(
            f"two stationarity windows (2 × {window:g}) must fit in t_end = {t_end:g}."
        )
    k_rule, _, k_init, _ = jr.split(key, 4)
    model = build_model(opts, p, k_rule)
    state0 = init_state(model, opts, p, k_init)
    return experiment(model, state0, SpectrumObservables(), opts, t_end, save_every)


def equilibrated_state(opts, p, k_rule, k_init, k_noise, t_equilibrate: float):
    """(x, W, homeostasis state) after `t_equilibrate` of the equilibration
    run from the random start: the rule drawn from `k_rule` (the same one the
    caller then uses), W and x from `k_init`, the weight noise from `k_noise`
    (Euler steps of `opts.dt`, as in the authors' code)."""
    steps = t_equilibrate / opts.dt
    if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
        raise ValueError(
            f"t_equilibrate = {t_equilibrate:g} is not a whole number of steps "
            f"dt = {opts.dt:g}."
        )
    model = build_model(opts, p, k_rule)
    state0 = init_state(model, opts, p, k_init)
    sim = simulate(model, state0, t0=0.0, t1=t_equilibrate, dt=opts.dt, key=k_noise)
    return sim.final.neurons, sim.final.W, sim.final.rules
