r"""What the experimenter does to the plastic inputs, step by step: STDP
pairings (periodic, or triggered by the network's own state) and the
reactivation schedule of the memory-reorganisation task.

A driver is called at the start of every step (time $t$, ms) with the
population-1 state code of the previous step (0 global down, 1 local down,
2 global up, 3 local up) and its own state; it returns the presynaptic spikes
$x$ of the plastic inputs, whether E cell 0 is forced to spike, the learning
gate (0/1), and its new state. Random draws come from the key it is given.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import as_param
from ...analysis import GLOBAL_UP, LOCAL_UP

Scalar = Float[Array, ""]


def _leaf(name):
    return eqx.field(converter=lambda v: as_param(v, name))


def _bool(v) -> Array:
    return jnp.asarray(v, bool)


def _at(t, when) -> Array:
    """t == when on the ms grid (times are whole ms)."""
    return jnp.abs(t - when) < 0.5


class PeriodicPairing(eqx.Module):
    r"""Pairings every `period` ms at $t \equiv$ `phase` (mod `period`), from
    `t_on`: a volley on the first `n_stim` inputs at the pairing time and a
    forced postsynaptic spike $\Delta t$ (`delta_t`) ms after it (before it
    when $\Delta t < 0$), or none (`pre_only`, a bool leaf). Times in ms."""

    period: Scalar = _leaf("period")
    phase: Scalar = _leaf("phase")
    delta_t: Scalar = _leaf("delta_t")
    t_on: Scalar = _leaf("t_on")
    n_inputs: int = eqx.field(static=True)
    n_stim: int = eqx.field(static=True)
    pre_only: Array = eqx.field(converter=_bool, default=False)

    def init(self, dtype):
        return jnp.zeros((), dtype)  # pairings delivered

    def __call__(self, t, code_prev, state, key):
        on = t >= self.t_on
        pre = on & _at(jnp.mod(t - self.phase, self.period), 0.0)
        post_time = jnp.mod(t - self.phase - self.delta_t, self.period)
        post = on & _at(post_time, 0.0) & ~self.pre_only
        x = jnp.where(jnp.arange(self.n_inputs) < self.n_stim, pre, False)
        return x.astype(state.dtype), post, 1.0, state + pre


class TriggerState(eqx.Module):
    """Pairings delivered, ms since the last one, steps the target state has
    lasted, and the scheduled pre and post times (−1: none)."""

    count: Scalar
    interval: Scalar
    duration: Scalar
    pre_at: Scalar
    post_at: Scalar


class TriggeredPairing(eqx.Module):
    r"""Pairings triggered by the network's own state (swstdp.py): from
    `t_on` until `t_end` − 80 ms, a pairing starts when at least
    `min_interval` ms have passed since the last one, the target state
    (`target` code) has lasted more than `min_duration` steps, and fewer than
    `n_pairings` were given. It puts the volley on the first `n_stim` inputs
    now and the forced postsynaptic spike $\Delta t$ later ($\Delta t \ge 0$),
    or the spike now and the volley $|\Delta t|$ later ($\Delta t < 0$)."""

    delta_t: Scalar = _leaf("delta_t")
    target: Array
    t_on: Scalar = _leaf("t_on")
    t_end: Scalar = _leaf("t_end")
    min_interval: Scalar = _leaf("min_interval")
    min_duration: Scalar = _leaf("min_duration")
    n_pairings: Scalar = _leaf("n_pairings")
    n_inputs: int = eqx.field(static=True)
    n_stim: int = eqx.field(static=True)
    pre_only: Array = eqx.field(converter=_bool, default=False)

    def init(self, dtype):
        z = jnp.zeros((), dtype)
        return TriggerState(z, self.min_interval + z, z, z - 1.0, z - 1.0)

    def __call__(self, t, code_prev, s: TriggerState, key):
        duration = jnp.where(code_prev == self.target, s.duration + 1.0, 0.0)
        window = (t >= self.t_on) & (t < self.t_end - 80.0)
        interval = s.interval + window
        fire = (
            window
            & (interval >= self.min_interval)
            & (duration > self.min_duration)
            & (s.count < self.n_pairings)
        )
        lag = jnp.abs(self.delta_t)
        late = t + lag
        pre_at = jnp.where(fire, jnp.where(self.delta_t >= 0, t, late), s.pre_at)
        post_at = jnp.where(fire, jnp.where(self.delta_t >= 0, late, t), s.post_at)
        pre = _at(t, pre_at)
        post = _at(t, post_at) & ~self.pre_only
        x = jnp.where(jnp.arange(self.n_inputs) < self.n_stim, pre, False)
        new = TriggerState(
            count=s.count + fire,
            interval=jnp.where(fire, 0.0, interval),
            duration=duration,
            pre_at=pre_at,
            post_at=post_at,
        )
        return x.astype(s.count.dtype), post, 1.0, new


class ReactivationState(eqx.Module):
    """Reactivation events given to the global set and to the local set, and
    steps since population 1 was last in a global / local up state."""

    global_events: Scalar
    local_events: Scalar
    since_global: Scalar
    since_local: Scalar


class Reactivation(eqx.Module):
    r"""The memory-reorganisation task (swtaskreactivation.py), in three
    phases: a wake test $[0, T_w)$, sleep $[T_w, T_w + T_s)$ and a wake test
    $[T_w + T_s, 2T_w + T_s)$ (ms).

    Each step an event occurs with probability $\nu(t)\Delta t$. In sleep
    $\nu$ falls linearly from `rate0` by `drop` (1/ms) over $T_s$, and an
    event fires the first `n_set` inputs (the *global* set) if population 1
    was in a global up state in the previous step, the next `n_set` (the
    *local* set) if it was in a local up state, and nothing otherwise. In the
    wake tests $\nu$ = `wake_rate` and an event fires both sets. Learning is
    on in sleep from $T_w$ + `t_on` and, with `condition` = 1 (global only)
    or 2 (local only), only when population 1 was not in a local (global) up
    state during the previous 50 steps (0: always).
    """

    rate0: Scalar = _leaf("rate0")
    drop: Scalar = _leaf("drop")
    wake_rate: Scalar = _leaf("wake_rate")
    t_wake: Scalar = _leaf("t_wake")
    t_sleep: Scalar = _leaf("t_sleep")
    t_on: Scalar = _leaf("t_on")
    n_inputs: int = eqx.field(static=True)
    n_set: int = eqx.field(static=True)
    condition: int = eqx.field(static=True, default=0)

    def init(self, dtype):
        z = jnp.zeros((), dtype)
        return ReactivationState(z, z, z + 1e6, z + 1e6)

    def phase(self, t) -> Array:
        """0 wake test before sleep, 1 sleep, 2 wake test after sleep."""
        return (t >= self.t_wake).astype(jnp.int32) + (
            t >= self.t_wake + self.t_sleep
        ).astype(jnp.int32)

    def reset(self, t) -> Array:
        """True at the first step of sleep and of the second wake test."""
        return _at(t, self.t_wake) | _at(t, self.t_wake + self.t_sleep)

    def __call__(self, t, code_prev, s: ReactivationState, key: PRNGKeyArray):
        sleep = self.phase(t) == 1
        frac = (t - self.t_wake) / self.t_sleep
        rate = jnp.where(sleep, self.rate0 - self.drop * frac, self.wake_rate)
        event = jr.uniform(key, (), s.global_events.dtype) < rate
        idx = jnp.arange(self.n_inputs)
        first, second = idx < self.n_set, (idx >= self.n_set) & (idx < 2 * self.n_set)
        g_up, l_up = code_prev == GLOBAL_UP, code_prev == LOCAL_UP
        fire_g = event & jnp.where(sleep, g_up, True)
        fire_l = event & jnp.where(sleep, l_up, True)
        x = (first & fire_g) | (second & fire_l)
        since_g = jnp.where(g_up, 0.0, s.since_global + 1.0)
        since_l = jnp.where(l_up, 0.0, s.since_local + 1.0)
        gate = sleep & (t >= self.t_wake + self.t_on)
        if self.condition == 1:
            gate = gate & (since_l >= 50.0)
        elif self.condition == 2:
            gate = gate & (since_g >= 50.0)
        new = ReactivationState(
            global_events=s.global_events + (fire_g & sleep),
            local_events=s.local_events + (fire_l & sleep),
            since_global=since_g,
            since_local=since_l,
        )
        return x.astype(s.global_events.dtype), jnp.asarray(False), gate, new
