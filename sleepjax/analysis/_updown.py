r"""Up and down states: classification with hysteresis, global vs local states,
and rates, time fractions and onset rates per state.

A signal $x$ (e.g. a population's mean membrane potential, mV, or its rate)
is *up* from the step it exceeds `up` until the step it falls below `down`
(`down` < `up`):

$$\text{up}_t = \begin{cases} x_t \ge \text{down} & \text{if up}_{t-1}\\
  x_t > \text{up} & \text{otherwise.}\end{cases}$$

With $P$ populations, population `index` is in a **global** state when at
least `quorum` populations (itself included; default more than half) share
its state, else **local**: codes `GLOBAL_DOWN` 0, `LOCAL_DOWN` 1,
`GLOBAL_UP` 2, `LOCAL_UP` 3. (Yoshida & Toyoizumi: 4 populations, global when
more than 2 share population 1's state.)

Pure JAX, safe under `jit` and `vmap`; `StateTally` accumulates the same
statistics step by step inside a map's state.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

GLOBAL_DOWN, LOCAL_DOWN, GLOBAL_UP, LOCAL_UP = 0, 1, 2, 3
STATE_NAMES = ("global down", "local down", "global up", "local up")


def hysteresis(up_prev: Bool[Array, "..."], x: Float[Array, "..."], up, down):
    """One step of the classification (module docs)."""
    return jnp.where(up_prev, x >= down, x > up)


def classify_updown(
    x: Float[Array, "T ..."], up, down, initial: bool | Array = False
) -> Bool[Array, "T ..."]:
    """Up (True) or down along the first axis of `x`, with hysteresis,
    starting from `initial` before the first sample."""
    init = jnp.broadcast_to(jnp.asarray(initial, bool), x.shape[1:])

    def body(prev, xt):
        new = hysteresis(prev, xt, up, down)
        return new, new

    return jax.lax.scan(body, init, x)[1]


def global_local(
    up: Bool[Array, "... P"], index: int = 0, quorum: int | None = None
) -> Int[Array, "..."]:
    """State code of population `index` (module docs): 0 global down, 1 local
    down, 2 global up, 3 local up."""
    n_pop = up.shape[-1]
    quorum = n_pop // 2 + 1 if quorum is None else quorum
    mine = up[..., index]
    shared = jnp.sum(up == mine[..., None], axis=-1)
    local = shared < quorum
    return 2 * mine.astype(jnp.int32) + local.astype(jnp.int32)


def onsets(up: Bool[Array, "T ..."], initial: bool | Array = False):
    """True at the steps where a down→up transition happens."""
    prev = jnp.concatenate(
        [jnp.broadcast_to(jnp.asarray(initial, bool), up.shape[1:])[None], up[:-1]]
    )
    return up & ~prev


def time_fractions(states: Int[Array, " T"], n_states: int = 4):
    """Fraction of samples in each state `(n_states,)`."""
    hits = states[:, None] == jnp.arange(n_states)[None, :]
    return jnp.mean(hits, axis=0)


def rates_by_state(
    spikes: Float[Array, " T"], states: Int[Array, " T"], dt: float, n_states: int = 4
):
    """Mean of `spikes` (spikes per neuron per step) in each state, as a rate
    in Hz (`dt` in ms); NaN for states never visited."""
    hits = (states[:, None] == jnp.arange(n_states)[None, :]).astype(spikes.dtype)
    n = hits.sum(axis=0)
    total = spikes @ hits
    return jnp.where(n > 0, 1000.0 * total / (jnp.maximum(n, 1) * dt), jnp.nan)


class StateTally(eqx.Module):
    """Statistics per state accumulated step by step (inside a map's state).

    **Fields:** `time` `(S,)` ms spent in each state; `total` `(S,)` the sum
    of a quantity (e.g. spikes per neuron) over those steps; `onsets` `()`
    the number of down→up transitions counted.
    """

    time: Float[Array, " S"]
    total: Float[Array, " S"]
    onsets: Float[Array, ""]

    @classmethod
    def zeros(cls, n_states: int = 4, dtype=None) -> StateTally:
        dtype = dtype or jnp.result_type(float)
        z = jnp.zeros((n_states,), dtype)
        return cls(time=z, total=z, onsets=jnp.zeros((), dtype))

    def add(self, code, value, dt: float, onset=False, on=True) -> StateTally:
        """Count one step of `dt` ms in state `code` with `value`; `onset`
        adds a transition; nothing is counted where `on` is false."""
        hit = (jnp.arange(self.time.shape[0]) == code) & on
        hit = hit.astype(self.time.dtype)
        return StateTally(
            time=self.time + hit * dt,
            total=self.total + hit * value,
            onsets=self.onsets + (jnp.asarray(onset) & on).astype(self.time.dtype),
        )

    def rates(self) -> Float[Array, " S"]:
        """Mean `value` per second in each state (Hz for spikes), NaN where
        the state was never visited."""
        t = self.time
        return jnp.where(t > 0, 1000.0 * self.total / jnp.maximum(t, 1e-30), jnp.nan)

    def fractions(self) -> Float[Array, " S"]:
        """Fraction of the counted time in each state."""
        return self.time / jnp.maximum(jnp.sum(self.time), 1e-30)

    def onset_rate(self) -> Float[Array, ""]:
        """Onsets per second of counted time."""
        return 1000.0 * self.onsets / jnp.maximum(jnp.sum(self.time), 1e-30)
