"""What a two-factor run saves: margins, density, norms, correlations,
recall.

Margins, errors and recall are taken over the replayed patterns (the
attractors after wake; every pattern during wake and in supervised
consolidation). Margins are medians over neurons (at small M a neuron whose
targets are all equal has an unbounded margin; for N → ∞ median and mean
agree), densities and errors means. Fields are in units of one weight;
margins are ratios.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ... import analysis as an
from ..._spec import AbstractObservables
from ...dynamics._threshold import count_errors
from ...plasticity._factorised import PRUNE_BELOW

#: exponents q = 2/ζ of the power sums Σ_j w^q, ζ = 0.5, 0.55, ..., 6
ZETAS = np.round(np.arange(0.5, 6.0 + 1e-9, 0.05), 2)
QS = 2.0 / ZETAS
#: exponents of the q-norm margins (the SNR for noise in the q-norm)
MARGIN_QS = (2.0, 1.0, 2.0 / 3.0, 0.5)
#: strength bins of `pruned_by_strength`: quintiles of the weights at the start
STRENGTH_BINS = 5

_UNITS = {
    "error": (
        "wrong units",
        "1",
        "fraction of (unit, pattern) pairs wrong one step from the pattern",
    ),
    "recalled": (
        "memories recalled",
        "1",
        "fraction of patterns with ≤ 0.2·N·f wrong units one step from them",
    ),
    "solved": (
        "neurons solved",
        "1",
        "fraction of neurons right on every pattern (perceptrons solved)",
    ),
    "kappa": (
        "L2 margin κ",
        "1",
        "median over neurons of min_μ y(w·x − θ)/‖w‖₂",
    ),
    "rho": (
        "L1 margin ρ",
        "1",
        "median of min_μ y(w·x − θ)/(mean(w)·√(N f(1−f)))",
    ),
    "syn_margin": (
        "synaptic margin",
        "1",
        "median of min_μ y(w·x − θ)/√Σ w^(2−2/z)",
    ),
    "neural_snr": (
        "neural SNR",
        "1",
        "κ/√(f(1−f)): the margin over the field's std across random patterns",
    ),
    "synaptic_snr": (
        "synaptic SNR",
        "1",
        "margin over the field's std under noise ⟨u⟩ on factor 1 "
        "(analysis.synaptic_snr)",
    ),
    "density": (
        "connection density",
        "1",
        "fraction of synapses with w > 1e-10",
    ),
    "within": (
        "within-synapse factor correlation",
        "1",
        "corr over neurons of two factors of one synapse (1 for z = 1)",
    ),
    "across": (
        "across-synapse factor correlation",
        "1",
        "corr over neurons of one factor of two synapses",
    ),
    "replayed": (
        "memories replayed",
        "1",
        "fraction of the M patterns that are replayed (fixed points after wake)",
    ),
    "gain_by_margin": (
        "margin gain by initial margin",
        "1",
        "mean gain of the replayed memories' margins (min over neurons of y(w·x "
        "− θ)/‖w‖₂) since consolidation began, per quintile of their margin "
        "then (weakest first)",
    ),
    "gain_slope": (
        "gain vs initial margin",
        "1",
        "least-squares slope of the replayed memories' margin gains against "
        "their initial margins (negative: the weakest gain most)",
    ),
    "pruned_by_strength": (
        "pruned, by initial strength",
        "1",
        "fraction pruned among the synapses alive at the start of "
        "consolidation, per quintile of their weight then (weakest first)",
    ),
    "qsum": (
        "power sums",
        "1",
        "mean over neurons of Σ_j w^q, q = 2/ζ (ζ = 0.5 … 6 by 0.05)",
    ),
    "qmargin": (
        "q-norm margins",
        "1",
        "median of min_μ y(w·x − θ)/‖w‖_q for q = 2, 1, 2/3, 1/2",
    ),
    "neural_recall": (
        "recall under neural noise",
        "1",
        "fraction recalled from balanced bit flips, per noise level f_noise/f",
    ),
    "synaptic_recall": (
        "recall under synaptic noise",
        "1",
        "fraction recalled with noise σ/⟨u⟩ on factor 1, per level",
    ),
}

_DIMS = {
    "gain_by_margin": ("margin_quintile",),
    "pruned_by_strength": ("strength_quintile",),
    "qsum": ("zeta",),
    "qmargin": ("norm_q",),
    "neural_recall": ("neural_level",),
    "synaptic_recall": ("synaptic_level",),
}

CORE = ("error", "recalled", "solved", "kappa", "density", "replayed")
MARGINS = ("rho", "syn_margin", "neural_snr", "synaptic_snr")


def _mean(x, mask):
    """Mean of `x` over its last axis where `mask` is True."""
    m = mask.astype(x.dtype)
    return jnp.sum(x * m, axis=-1) / jnp.maximum(jnp.sum(m), 1.0)


def tested(t, y, model):
    """The patterns margins and errors are taken over: the replayed ones once
    wake is over (all of them in supervised consolidation), every pattern
    during wake, and every pattern if none is replayed."""
    wake = getattr(model, "wake_epochs", 0)
    sel = jnp.where(t >= wake, y.replay, True)
    return jnp.where(jnp.any(sel), sel, True)


def core(t, y, model) -> dict[str, Array]:
    """The scalars every protocol saves (module docs)."""
    X, Y, f = model.X, model.targets, model.f
    W = y.syn.weights
    rp = tested(t, y, model)
    wrong = count_errors(W @ X - y.theta[:, None], Y)  # (M,)
    unit_wrong = (1.0 - Y * jnp.sign(W @ X - y.theta[:, None])) / 2.0
    solved = jnp.all((unit_wrong == 0) | ~rp[None, :], axis=1)
    return {
        "error": _mean(wrong, rp) / X.shape[0],
        "recalled": _mean((wrong <= 0.2 * X.shape[0] * f).astype(W.dtype), rp),
        "solved": jnp.mean(solved.astype(W.dtype)),
        "kappa": jnp.median(an.l2_margin(W, y.theta, X, Y, rp)),
        "density": jnp.mean(an.density(W)),
        "replayed": jnp.mean(y.replay.astype(W.dtype)),
    }


def margins(t, y, model) -> dict[str, Array]:
    """ρ, the synaptic margin and the two SNRs (means over neurons)."""
    X, Y, f = model.X, model.targets, model.f
    W, th, rp = y.syn.weights, y.theta, tested(t, y, model)
    z = y.syn.z
    return {
        "rho": jnp.median(an.rho_margin(W, th, X, Y, f, rp)),
        "syn_margin": jnp.median(an.synaptic_margin(W, th, X, Y, z, rp)),
        "neural_snr": jnp.median(an.gardner_stability(W, th, X, Y, f, rp)),
        "synaptic_snr": jnp.median(
            an.synaptic_snr(y.syn.u, y.syn.alive, th, X, Y, f, rp)
        ),
    }


def correlations(y) -> dict[str, Array]:
    """Factor correlations; `within` is 1 for z = 1 (one factor per synapse,
    identical to itself)."""
    within, across = an.factor_correlations(y.syn.u)
    if y.syn.z == 1:
        within = jnp.ones_like(across)
    return {"within": within, "across": across}


def pruned_by_strength(y) -> Float[Array, " B"]:
    """Fraction pruned per quintile of the reference weights (module docs)."""
    w0 = y.w_ref
    n = w0.shape[0]
    live0 = (w0 > PRUNE_BELOW) & ~jnp.eye(n, dtype=bool)
    edges = jnp.nanquantile(
        jnp.where(live0, w0, jnp.nan), jnp.linspace(0.0, 1.0, STRENGTH_BINS + 1)
    )
    b = jnp.clip(jnp.searchsorted(edges[1:-1], w0, side="right"), 0, STRENGTH_BINS - 1)
    gone = (~y.syn.alive) & live0
    onehot = (b[None] == jnp.arange(STRENGTH_BINS)[:, None, None]) & live0[None]
    cnt = jnp.sum(onehot, axis=(1, 2))
    return jnp.sum(onehot & gone[None], axis=(1, 2)) / jnp.maximum(cnt, 1)


def memory_gains(t, y, model) -> dict[str, Array]:
    """Gains of the tested memories' margins since consolidation began: per
    quintile of the initial margin, and the slope against it (0 when the
    initial margins are all equal)."""
    W = y.syn.weights
    m = an.memory_margins(W, y.theta, model.X, model.targets)
    m0, rp = y.m_ref, tested(t, y, model)
    gain = m - m0
    w = rp.astype(W.dtype)
    cnt = jnp.maximum(jnp.sum(w), 1.0)
    edges = jnp.nanquantile(
        jnp.where(rp, m0, jnp.nan), jnp.linspace(0.0, 1.0, STRENGTH_BINS + 1)
    )
    b = jnp.clip(jnp.searchsorted(edges[1:-1], m0, side="right"), 0, STRENGTH_BINS - 1)
    onehot = (b[None] == jnp.arange(STRENGTH_BINS)[:, None]).astype(W.dtype) * w[None]
    by = jnp.sum(onehot * gain[None], axis=1) / jnp.maximum(
        jnp.sum(onehot, axis=1), 1.0
    )
    x0 = jnp.sum(m0 * w) / cnt
    g0 = jnp.sum(gain * w) / cnt
    cov = jnp.sum((m0 - x0) * (gain - g0) * w)
    var = jnp.sum((m0 - x0) ** 2 * w)
    slope = jnp.where(var > 0, cov / jnp.where(var > 0, var, 1.0), 0.0)
    return {"gain_by_margin": by, "gain_slope": slope}


class _Base(AbstractObservables):
    units: ClassVar = _UNITS
    headline: ClassVar = ("kappa", "density", "recalled")
    default_fit: ClassVar = ("kappa",)

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return _DIMS.get(name, ())


class NightObservables(_Base):
    """Wake–sleep run: core scalars, margins, SNRs, correlations, per-memory
    margins, pruning by initial strength."""

    families: ClassVar = {
        "margins": ("kappa", "rho", "syn_margin"),
        "snr": ("neural_snr", "synaptic_snr"),
        "correlations": ("within", "across"),
    }

    @property
    def names(self) -> tuple[str, ...]:
        return (
            *CORE, *MARGINS, "within", "across",
            "gain_by_margin", "gain_slope", "pruned_by_strength",
        )  # fmt: skip

    def __call__(self, t, y, model) -> dict[str, Array]:
        W = y.syn.weights
        return {
            **core(t, y, model),
            **margins(t, y, model),
            **correlations(y),
            **memory_gains(t, y, model),
            "pruned_by_strength": pruned_by_strength(y).astype(W.dtype),
        }


class ConsolidationObservables(_Base):
    """Supervised consolidation: core scalars and (with `full`) margins, SNRs,
    correlations, power sums Σ w^q and q-norm margins."""

    full: bool = eqx.field(static=True, default=True)

    families: ClassVar = {
        "margins": ("kappa", "rho", "syn_margin"),
        "norms": ("qsum", "qmargin"),
    }

    @property
    def names(self) -> tuple[str, ...]:
        if not self.full:
            return CORE
        return (*CORE, *MARGINS, "within", "across", "qsum", "qmargin")

    def __call__(self, t, y, model) -> dict[str, Array]:
        out = core(t, y, model)
        if not self.full:
            return out
        W, X, Y = y.syn.weights, model.X, model.targets
        qm = [jnp.median(an.norm_margin(W, y.theta, X, Y, q)) for q in MARGIN_QS]
        return {
            **out,
            **margins(t, y, model),
            **correlations(y),
            "qsum": jnp.mean(an.power_sums(W, QS), axis=1),
            "qmargin": jnp.stack(qm),
        }


class RobustnessObservables(_Base):
    """Recall of the replayed memories under neural and synaptic noise
    (`sleepjax.analysis` robustness functions), plus the core scalars.

    **Fields:** `key` (the noise draws; folded with the save time),
    `neural_levels`, `synaptic_levels` (leaves), static `tests`, `steps`.
    """

    key: PRNGKeyArray
    neural_levels: Float[Array, " L"]
    synaptic_levels: Float[Array, " S"]
    tests: int = eqx.field(static=True, default=8)
    steps: int = eqx.field(static=True, default=50)

    @property
    def names(self) -> tuple[str, ...]:
        return (*CORE, "neural_recall", "synaptic_recall")

    def __call__(self, t, y, model) -> dict[str, Array]:
        X, f, rp = model.X, model.f, y.replay
        key = jr.fold_in(self.key, jnp.asarray(t, jnp.int32))
        k1, k2 = jr.split(key)
        W = y.syn.weights
        kw = {"steps": self.steps, "tests": self.tests}
        nr = an.neural_noise_recall(k1, W, y.theta, X, f, self.neural_levels, **kw)
        sr = an.synaptic_noise_recall(
            k2, y.syn.u, y.syn.alive, y.theta, X, f, self.synaptic_levels, **kw
        )
        return {
            **core(t, y, model),
            "neural_recall": _mean(nr, rp),
            "synaptic_recall": _mean(sr, rp),
        }
