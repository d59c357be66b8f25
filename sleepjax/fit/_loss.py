"""Losses on saved observables: trajectory matching, summary statistics, custom."""

from __future__ import annotations

import abc
import copy
from collections.abc import Callable, Mapping

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._observe import expand, families

STATS = ("mean", "std")


def time_mask(ts, t_min, t_max) -> np.ndarray:
    """Indices of the save times inside [t_min, t_max] (static)."""
    ts = np.asarray(ts)
    lo = -np.inf if t_min is None else t_min
    hi = np.inf if t_max is None else t_max
    idx = np.nonzero((ts >= lo) & (ts <= hi))[0]
    if idx.size == 0:
        raise ValueError(
            f"no save time lies in [t_min, t_max] = [{lo}, {hi}] (save times run "
            f"from {ts.min():g} to {ts.max():g})."
        )
    return idx


class AbstractLoss(eqx.Module):
    """A loss on simulated observables against data.

    Called as `loss(ts, sim, data)` with dicts `name -> array` whose arrays have
    a leading draw axis then a time axis: `sim[name]` is `(draws, T, ...)` for
    the simulated draws, `data[name]` `(data_draws, T, ...)`. Returns a scalar.

    - `observables`: the names the loss reads, or names of families of the
      experiment's observables (e.g. `"weights"` for w_mean, w_std), expanded
      by `resolve`; `None` means every observable the experiment saves.
    - `draws`: how many noise draws are simulated per evaluation (`None`: as
      many as the data has, for matched noise).
    - `matched_noise`: simulate with the data's own noise keys (trajectory
      matching) instead of the fit's own, fixed, keys.
    """

    observables: eqx.AbstractVar[tuple[str, ...] | None]
    draws: eqx.AbstractVar[int | None]
    matched_noise: eqx.AbstractVar[bool]

    @abc.abstractmethod
    def __call__(self, ts, sim: Mapping[str, Array], data: Mapping[str, Array]): ...

    def resolve(self, observe) -> AbstractLoss:
        """This loss with family names expanded by the experiment's
        observables `observe` (called by `fit` before anything compiles)."""
        if self.observables is None:
            return self
        return _replace(self, observables=expand(observe, self.observables))


def _replace(loss, **fields):
    """A copy of `loss` with static `fields` replaced (`eqx.tree_at` changes
    leaves only)."""
    new = copy.copy(loss)
    for k, v in fields.items():
        object.__setattr__(new, k, v)
    return new


def _scales(data, names, idx, scales, floor):
    out = {}
    for nm in names:
        if scales is not None and nm in scales:
            out[nm] = float(scales[nm])
        else:
            d = jnp.asarray(data[nm])[:, idx]
            out[nm] = jnp.maximum(jnp.sqrt(jnp.mean(d**2)), floor)
    return out


class _AbstractWeighted(AbstractLoss):
    """Shared parts: names, time window, weights and scales."""

    observables: tuple[str, ...] = eqx.field(static=True)
    t_min: float | None = eqx.field(static=True)
    t_max: float | None = eqx.field(static=True)
    weights: tuple[tuple[str, float], ...] = eqx.field(static=True)
    given_weights: tuple[tuple[str, float], ...] = eqx.field(static=True)
    scales: tuple[tuple[str, float], ...] | None = eqx.field(static=True)
    floor: float = eqx.field(static=True)

    def _setup(self, observables, t_min, t_max, weights, scales, floor):
        self.observables = (
            (observables,) if isinstance(observables, str) else tuple(observables)
        )
        if not self.observables:
            raise ValueError("a loss needs at least one observable.")
        if t_min is not None and t_max is not None and t_max < t_min:
            raise ValueError(f"need t_min <= t_max, got {t_min} > {t_max}.")
        self.t_min = None if t_min is None else float(t_min)
        self.t_max = None if t_max is None else float(t_max)
        weights = dict(weights or {})
        for nm, w in weights.items():
            if not w >= 0:
                raise ValueError(f"weight of {nm!r} must be >= 0, got {w}.")
        self.given_weights = tuple((nm, float(w)) for nm, w in weights.items())
        self.weights = tuple(
            (nm, float(weights.get(nm, 1.0))) for nm in self.observables
        )
        self.scales = None if scales is None else tuple(sorted(scales.items()))
        if floor <= 0:
            raise ValueError(f"`floor` must be > 0, got {floor}.")
        self.floor = float(floor)

    def resolve(self, observe) -> _AbstractWeighted:
        """Family names expanded (each member takes its family's weight)."""
        fam = families(observe)
        names = expand(observe, self.observables)
        weights = {}
        for nm, w in self.given_weights:  # a name's own weight beats its family's
            if nm not in fam:
                weights[nm] = w
        for nm, w in self.given_weights:
            for x in fam.get(nm, ()):
                weights.setdefault(x, w)
        used = set(names) | {f for f in fam if set(fam[f]) <= set(names)}
        bad = [nm for nm, _ in self.given_weights if nm not in used]
        if bad:
            raise ValueError(
                f"weights given for {bad}, which the loss does not use ({names})."
            )
        return _replace(
            self,
            observables=names,
            weights=tuple((nm, weights.get(nm, 1.0)) for nm in names),
        )

    def _terms(self, ts, sim, data, reduce):
        idx = time_mask(ts, self.t_min, self.t_max)
        sc = _scales(data, self.observables, idx, dict(self.scales or ()), self.floor)
        total = 0.0
        for nm, w in self.weights:
            if w == 0:
                continue
            s, d = reduce(sim[nm][:, idx]), reduce(jnp.asarray(data[nm])[:, idx])
            total = total + w * jnp.mean((s - d) ** 2) / sc[nm] ** 2
        return total


class Trajectory(_AbstractWeighted):
    r"""Trajectory matching: the simulation uses the data's own noise (same
    keys, same Brownian path), so at the true parameters the loss is exactly 0.

    $$L = \frac1D\sum_{d}\sum_{k} w_k\,
      \frac{\langle (y^{sim}_{k,d}(t) - y^{data}_{k,d}(t))^2\rangle_t}{s_k^2}$$

    over the save times in `[t_min, t_max]`, with $s_k$ the root-mean-square of
    the data's observable $k$ there (or `scales[k]`), so that observables of
    different units weigh alike.

    **Arguments:**

    - `observables`: names, or names of families that the experiment's
      observables declare (for the Susman model: `"memory"` (mem_re,
      mem_im), `"weights"` (w_mean, w_std), `"rates"`, `"overlap"`,
      `"coords"`, `"plane"`, `"block"`).
    - `t_min`, `t_max`: time window (e.g. after a memory is inserted).
    - `weights`: dict name → weight (default 1).
    - `scales`: dict name → normalising scale (default: data RMS).
    - `floor`: smallest scale (avoids dividing by ~0). Default 1e-6.
    """

    draws: None = eqx.field(static=True)
    matched_noise: bool = eqx.field(static=True)

    def __init__(
        self,
        observables,
        *,
        t_min=None,
        t_max=None,
        weights=None,
        scales=None,
        floor: float = 1e-6,
    ):
        self._setup(observables, t_min, t_max, weights, scales, floor)
        self.draws = None
        self.matched_noise = True

    def __call__(self, ts, sim, data):
        return self._terms(ts, sim, data, lambda a: a)


class SummaryStats(_AbstractWeighted):
    r"""Summary statistics over noise draws: for unmatched noise (data from
    other noise realisations, or recorded data).

    Each evaluation simulates `draws` networks with the fit's own noise keys
    (fixed for the whole fit, one set per restart: common random numbers), and
    compares their across-draw statistics with those of the data's draws:

    $$L = \sum_k w_k \sum_{s\in\text{stats}}
      \frac{\langle (S_s[y^{sim}_k](t) - S_s[y^{data}_k](t))^2\rangle_t}{s_k^2}$$

    with $S_\text{mean}$ the mean over draws and $S_\text{std}$ the standard
    deviation over draws, $s_k$ the data's RMS of observable $k$.

    **Arguments:**

    - `observables`, `t_min`, `t_max`, `weights`, `scales`, `floor`: as for
      `Trajectory`.
    - `draws`: simulated noise draws per evaluation. Default 4.
    - `stats`: `("mean",)` (default) or `("mean", "std")`.
    """

    draws: int = eqx.field(static=True)
    matched_noise: bool = eqx.field(static=True)
    stats: tuple[str, ...] = eqx.field(static=True)

    def __init__(
        self,
        observables,
        *,
        draws: int = 4,
        stats=("mean",),
        t_min=None,
        t_max=None,
        weights=None,
        scales=None,
        floor: float = 1e-6,
    ):
        self._setup(observables, t_min, t_max, weights, scales, floor)
        if not isinstance(draws, int) or draws < 1:
            raise ValueError(
                f"SummaryStats: `draws` must be an int >= 1, got {draws!r}."
            )
        stats = (stats,) if isinstance(stats, str) else tuple(stats)
        bad = [s for s in stats if s not in STATS]
        if bad or not stats:
            raise ValueError(
                f"SummaryStats: `stats` must be from {STATS}, got {stats}."
            )
        if "std" in stats and draws < 2:
            raise ValueError("SummaryStats: the 'std' statistic needs draws >= 2.")
        self.draws = draws
        self.matched_noise = False
        self.stats = stats

    def __call__(self, ts, sim, data):
        total = 0.0
        for s in self.stats:
            if s == "mean":
                red = lambda a: jnp.mean(a, axis=0)
            else:
                red = lambda a: jnp.std(a, axis=0)
            total = total + self._terms(ts, sim, data, red)
        return total


class CustomLoss(AbstractLoss):
    """Any function of the saved summaries: `fn(ts, sim, data) -> scalar`,
    with `sim`/`data` dicts of `(draws, T, ...)` arrays (see `AbstractLoss`).

    **Arguments:**

    - `fn`: the loss function (differentiable in `sim`).
    - `observables`: names it reads (default: all that the experiment saves).
    - `draws`: simulated draws per evaluation (default: the data's, when
      `matched_noise`; else 1).
    - `matched_noise`: use the data's noise keys (default True).
    """

    fn: Callable = eqx.field(static=True)
    observables: tuple[str, ...] | None = eqx.field(static=True)
    draws: int | None = eqx.field(static=True)
    matched_noise: bool = eqx.field(static=True)

    def __init__(self, fn, observables=None, *, draws=None, matched_noise=True):
        if not callable(fn):
            raise TypeError(f"CustomLoss: `fn` must be callable, got {fn!r}.")
        self.fn = fn
        if isinstance(observables, str):
            observables = (observables,)
        self.observables = None if observables is None else tuple(observables)
        if draws is not None and (not isinstance(draws, int) or draws < 1):
            raise ValueError(f"CustomLoss: `draws` must be an int >= 1, got {draws!r}.")
        self.draws = draws if (draws is not None or matched_noise) else 1
        self.matched_noise = bool(matched_noise)

    def __call__(self, ts, sim, data):
        return self.fn(ts, sim, data)


def as_loss(loss) -> AbstractLoss:
    if isinstance(loss, AbstractLoss):
        return loss
    if callable(loss):
        return CustomLoss(loss)
    raise TypeError(
        f"`loss` must be a Trajectory, SummaryStats, CustomLoss or a callable "
        f"(ts, sim, data) -> scalar; got {loss!r}."
    )
