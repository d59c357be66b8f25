"""What the slow-wave protocols save (rates in Hz, weights in mV, times in ms)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ..._spec import AbstractObservables

_UNITS = {
    "g_bar": ("baseline ḡ", "Hz", "the baseline intensity the rule uses now"),
    "g_mean": (
        "mean intensity g",
        "Hz",
        "time average of g(u_r + v) (background only) over the counted window",
    ),
    "post_rate": (
        "postsynaptic rate",
        "Hz",
        "spikes of the cell over the counted window",
    ),
    "w_stim": ("mean plastic weight", "mV", "mean weight of the stimulated inputs"),
    "dw": (
        "weight change",
        "%",
        "100 (mean w − w0) / w0 over the stimulated inputs",
    ),
    "pairings": ("pairings", "1", "pairings (or pre-only stimuli) delivered"),
    "u_pop": ("mean E potential", "mV", "u_r + mean v of each population's E cells"),
    "up": ("up state", "1", "1 when the population is up (hysteresis on mean u)"),
    "code": (
        "population 1 state",
        "1",
        "0 global down, 1 local down, 2 global up, 3 local up",
    ),
    "rate_pop": ("E rate", "Hz", "E rate of each population, low-passed over 20 ms"),
    "rate_state": (
        "population 1 E rate per state",
        "Hz",
        "global down, local down, global up, local up (0: not visited)",
    ),
    "cell_rate_state": ("E cell 0 rate per state", "Hz", "as rate_state, cell 0"),
    "fraction": ("time fraction per state", "1", "of the counted time"),
    "onset_rate": ("up-onset rate", "Hz", "population 1 down→up transitions per s"),
    "time_state": ("time per state", "ms", "cumulative counted time per state"),
    "cell_spikes": ("cell 0 spikes per state", "1", "cumulative, counted time"),
    "w_global": ("weight, global set", "mV", "mean weight of the global-up set"),
    "w_local": ("weight, local set", "mV", "mean weight of the local-up set"),
    "w_other": ("weight, other inputs", "mV", "mean weight of the other inputs"),
    "events_global": ("reactivations, global set", "1", "events given in sleep"),
    "events_local": ("reactivations, local set", "1", "events given in sleep"),
    "readout_pre": ("readout before sleep", "Hz", "cell 0 rate, first wake test"),
    "readout_post": ("readout after sleep", "Hz", "cell 0 rate, second wake test"),
    "rE": ("E rate", "1", "E rate of every lattice site"),
    "rE_mean": ("mean E rate", "1", "over the lattice"),
    "a_mean": ("mean adaptation", "1", "over the lattice"),
}

STATE_DIM = {"rate_state", "cell_rate_state", "fraction", "time_state", "cell_spikes"}
POP_DIM = {"u_pop", "up", "rate_pop"}


class _Base(AbstractObservables):
    units: ClassVar = _UNITS

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        if name in STATE_DIM:
            return ("state",)
        if name in POP_DIM:
            return ("population",)
        if name == "rE":
            return ("x", "y")[:ndim]
        return ()


class SingleObservables(_Base):
    """The single cell: ḡ, its time-average estimate, the rate and (with
    plastic inputs) the weights."""

    w0: Array
    plastic: bool = eqx.field(static=True, default=True)

    headline: ClassVar = ("g_mean", "dw")
    default_fit: ClassVar = ("g_mean",)

    @property
    def names(self) -> tuple[str, ...]:
        base = ("g_bar", "g_mean", "post_rate")
        return base + (("w_stim", "dw", "pairings") if self.plastic else ())

    def __call__(self, t, s, model) -> dict[str, Array]:
        n = jnp.maximum(s.counted, 1.0)
        out = {
            "g_bar": 1000.0 * s.g_bar,
            "g_mean": 1000.0 * s.g_sum / n,
            "post_rate": 1000.0 * s.spikes / n,
        }
        if self.plastic:
            w = jnp.mean(s.W)
            out |= {
                "w_stim": w,
                "dw": 100.0 * (w - self.w0) / self.w0,
                "pairings": s.driver,
            }
        return out


def _rates(tally) -> Array:
    """Rates per state, 0 for states not visited yet (a store treats NaN as
    a failed network; `fraction` tells which states were visited)."""
    return jnp.where(tally.time > 0, jnp.nan_to_num(tally.rates()), 0.0)


def _state_stats(s) -> dict[str, Array]:
    return {
        "rate_state": _rates(s.pop_tally),
        "cell_rate_state": _rates(s.cell_tally),
        "fraction": s.pop_tally.fractions(),
        "onset_rate": s.pop_tally.onset_rate(),
    }


class NetworkObservables(_Base):
    """The network: population potentials, states and rates; per-state
    statistics of population 1; with plastic inputs, the stimulated weights."""

    w0: Array
    n_stim: int = eqx.field(static=True, default=20)
    plastic: bool = eqx.field(static=True, default=False)

    headline: ClassVar = ("rate_state", "fraction", "onset_rate")

    @property
    def names(self) -> tuple[str, ...]:
        base = ("u_pop", "up", "code", "rate_pop", "rate_state", "cell_rate_state")
        base += ("fraction", "onset_rate")
        return base + (("w_stim", "dw", "pairings") if self.plastic else ())

    def __call__(self, t, s, model) -> dict[str, Array]:
        P = model.n_pop
        u_rest = model.net.populations["E"].u_rest
        dtype = s.rate.dtype
        out = {
            "u_pop": u_rest + s.net["E"].v.reshape(P, -1).mean(axis=1),
            "up": s.up.astype(dtype),
            "code": s.code.astype(dtype),
            "rate_pop": s.rate,
        } | _state_stats(s)
        if self.plastic:
            w = jnp.mean(s.W[0, : self.n_stim])
            out |= {
                "w_stim": w,
                "dw": 100.0 * (w - self.w0) / self.w0,
                "pairings": s.driver.count,
            }
        return out


class TaskObservables(_Base):
    """The reorganisation task, saved per epoch: the two sets' weights, the
    reactivations given, the wake-test readouts and per-state statistics."""

    n_set: int = eqx.field(static=True, default=40)

    headline: ClassVar = ("w_global", "w_local", "readout_post")

    @property
    def names(self) -> tuple[str, ...]:
        return (
            "w_global",
            "w_local",
            "w_other",
            "events_global",
            "events_local",
            "readout_pre",
            "readout_post",
            "rate_state",
            "cell_rate_state",
            "fraction",
            "onset_rate",
            "time_state",
            "cell_spikes",
        )

    def __call__(self, t, s, model) -> dict[str, Array]:
        w, k = s.W[0], self.n_set
        rt = jnp.maximum(s.readout_time, 1.0)
        d = s.driver
        return {
            "w_global": jnp.mean(w[:k]),
            "w_local": jnp.mean(w[k : 2 * k]),
            "w_other": jnp.mean(w[2 * k :]) if w.shape[0] > 2 * k else jnp.mean(w[:0]),
            "events_global": d.global_events,
            "events_local": d.local_events,
            "readout_pre": 1000.0 * s.readout[0] / rt[0],
            "readout_post": 1000.0 * s.readout[2] / rt[2],
            "time_state": s.cell_tally.time,
            "cell_spikes": s.cell_tally.total,
        } | _state_stats(s)


class WaveObservables(_Base):
    """The rate lattice: every site's E rate and the lattice means."""

    headline: ClassVar = ("rE_mean",)

    @property
    def names(self) -> tuple[str, ...]:
        return ("rE", "rE_mean", "a_mean")

    def __call__(self, t, y, model) -> dict[str, Array]:
        return {"rE": y.rE, "rE_mean": jnp.mean(y.rE), "a_mean": jnp.mean(y.a)}
