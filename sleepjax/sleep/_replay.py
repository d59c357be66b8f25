"""Replay during sleep: prioritised cues in NREM, mixed generative cues in
REM, targeted memory reactivation; all drawn inside jit from one key."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._errors import as_param, check_positive
from ..stimuli import AbstractStimulus
from ._hypnogram import N_STAGES, Hypnogram, stage_code
from ._stages import StageSchedule

PRIORITIES = ("equal", "strength", "recency", "prediction_error")


def _as_sequences(v):
    """Patterns `(m, n)` as one-item sequences `(m, 1, n)`; `(m, l, n)` as is."""
    a = as_param(v, "patterns")
    return a[:, None, :] if a.ndim == 2 else a


def priority(
    kind: str,
    *,
    strength=None,
    age=None,
    error=None,
    tau: float = 1.0,
    power: float = 1.0,
) -> Float[Array, " m"]:
    r"""Normalised replay priorities $p_k = x_k^{\gamma} / \sum_j x_j^{\gamma}$
    (γ = `power`) of M memories, with $x_k$:

    - `"equal"`: 1 (needs any of the arrays, for M);
    - `"strength"`: the memory's strength (≥ 0), e.g. its stored rotation;
    - `"recency"`: $e^{-\text{age}_k/\tau}$ (age since learning, time units);
    - `"prediction_error"`: the error of the network's recall of the memory
      (≥ 0), e.g. 1 − (strength / target strength).
    """
    given = {"strength": strength, "recency": age, "prediction_error": error}
    if kind not in PRIORITIES:
        raise ValueError(f"unknown priority {kind!r}; valid: {', '.join(PRIORITIES)}.")
    if kind == "equal":
        ref = next((v for v in given.values() if v is not None), None)
        if ref is None:
            raise ValueError("priority 'equal' needs one array (for M).")
        x = jnp.ones_like(jnp.asarray(ref, float))
    else:
        v = given[kind]
        if v is None:
            name = {"recency": "age", "prediction_error": "error"}.get(kind, kind)
            raise ValueError(f"priority {kind!r} needs `{name}`.")
        v = jnp.asarray(v, float)
        x = jnp.exp(-v / tau) if kind == "recency" else jnp.maximum(v, 0.0)
    x = x**power
    total = jnp.sum(x)
    return jnp.where(total > 0, x / jnp.where(total > 0, total, 1.0), 1.0 / x.size)


class Replay(AbstractStimulus):
    r"""Replay cues drawn from a priority, with a per-stage rate.

    Time is cut into slots of length `interval` from `t0`. Slot $j$ (start
    $t_j$) holds a cue with probability $\min(1, \rho_{s(t_j)}\,\Delta)$
    (ρ: `rates` per stage, events per time unit; Δ: `interval`). The cue is
    on for `duration` from $t_j$ with drive

    $$b(t) = A\,\xi_{m_j, i(t)}\quad (m_j \sim \text{Categorical}(p)),$$

    where a memory is a sequence of $l$ items $\xi_{k,0..l-1}$ played in
    order, each for `duration`/l ($i(t) = \lfloor l\,(t - t_j)/T \rfloor$;
    a static pattern is a sequence of one), or, in stages where `mixing` is
    1 (REM), a generative sample $A\,(\sum_k w_k \xi_{k,i(t)} + \sigma z)$
    with $w$ uniform on the simplex (Dirichlet(1, …, 1): normalised Exp(1)
    draws) and $z \sim N(0, I/n)$. Every draw comes from `fold_in(key, j)`: the
    same slots in every solver step, vmappable over keys and priorities.

    **Arguments:**

    - `patterns`: the memories' cue directions ξ_k, shape `(m, n)`, or
      sequences of them, `(m, l, n)` (e.g. a rotation u → −v → −u → v).
    - `priority`: p, shape `(m,)` (normalised here; see `priority`).
    - `rates`: `StageSchedule` of ρ, or its values with `hypnogram`.
    - `key`: the replay key (a typed key or its `jr.key_data`).
    - `amplitude`: A. `duration`: cue length. `interval`: Δ ≥ duration.
    - `mixing`: per-stage 0/1 (default: 1 in REM only).
    - `noise`: σ of the mixed cues. `t0`: first slot.
    """

    patterns: Float[Array, "m l n"] = eqx.field(converter=_as_sequences)
    priority: Float[Array, " m"] = eqx.field(
        converter=lambda v: as_param(v, "priority")
    )
    rates: StageSchedule
    mixing: StageSchedule
    key: Array
    amplitude: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "amplitude")
    )
    duration: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "duration"))
    interval: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "interval"))
    noise: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "noise"))
    t0: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "t0"))

    def __init__(
        self,
        patterns,
        priority,
        rates,
        key,
        *,
        hypnogram: Hypnogram | None = None,
        amplitude=10.0,
        duration=2.0,
        interval=10.0,
        mixing=None,
        noise=0.5,
        t0=0.0,
    ):
        if not isinstance(rates, StageSchedule):
            if hypnogram is None:
                raise ValueError("Replay: per-stage rates need a `hypnogram`.")
            rates = StageSchedule(hypnogram, rates, 0.0)
        if mixing is None:
            mixing = {"REM": 1.0}
        if not isinstance(mixing, StageSchedule):
            mixing = StageSchedule(rates.hypnogram, mixing, 0.0)
        self.patterns = patterns
        self.priority = priority
        self.rates, self.mixing = rates, mixing
        # raw key data: a typed key leaf is not an array every layer handles
        if jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
            key = jr.key_data(key)
        self.key = key
        self.amplitude, self.duration, self.interval = amplitude, duration, interval
        self.noise, self.t0 = noise, t0

    def __check_init__(self):
        if self.patterns.ndim != 3:
            raise ValueError(
                "Replay: `patterns` must have shape (m, n) or (m, l, n), got "
                f"{self.patterns.shape}."
            )
        if self.priority.shape != self.patterns.shape[:1]:
            raise ValueError(
                f"Replay: `priority` must have shape ({self.patterns.shape[0]},) "
                f"(one per pattern), got {self.priority.shape}."
            )
        check_positive("Replay.priority", self.priority, allow_zero=True)
        check_positive("Replay.rates", self.rates.values, allow_zero=True)
        check_positive("Replay.interval", self.interval)
        check_positive("Replay.duration", self.duration)
        check_positive("Replay.noise", self.noise, allow_zero=True)
        if isinstance(self.duration, jax.Array) and isinstance(
            self.interval, jax.Array
        ):
            try:
                if float(self.duration) > float(self.interval):
                    raise ValueError(
                        f"Replay: `duration` ({float(self.duration)}) must not exceed "
                        f"`interval` ({float(self.interval)})."
                    )
            except jax.errors.ConcretizationTypeError:
                pass

    # --------------------------------------------------------------- draws
    def slot(self, j, item=0) -> tuple:
        """Slot `j`'s draws: (on, memory index, mixed flag, cue vector of
        sequence item `item`)."""
        t_j = self.t0 + j * self.interval
        key = jr.fold_in(jr.wrap_key_data(self.key), j)
        M, _, n = self.patterns.shape
        # one uniform draw for the slot's choices (threefry compiles slowly)
        u = jr.uniform(key, (2 + M,), minval=1e-12, maxval=1.0)
        p_on = jnp.minimum(1.0, self.rates(t_j) * self.interval)
        on = u[0] < p_on
        cdf = jnp.cumsum(self.priority)
        m = jnp.minimum(jnp.searchsorted(cdf, u[1] * cdf[-1]), M - 1)
        mixed = self.mixing(t_j) > 0.5
        items = self.patterns[:, item]
        e = -jnp.log(u[2:])  # Exp(1): w uniform on the simplex
        w = e / jnp.sum(e)
        z = jr.normal(jr.fold_in(key, 1), (n,)) / jnp.sqrt(n)
        cue = jnp.where(mixed, w @ items + self.noise * z, items[m])
        return on, m, mixed, cue

    def drive(self, t, state):
        j = jnp.floor((t - self.t0) / self.interval)
        since = t - (self.t0 + j * self.interval)
        within = since < self.duration
        n_items = self.patterns.shape[1]
        item = jnp.clip(
            jnp.floor(n_items * since / self.duration).astype(jnp.int32), 0, n_items - 1
        )
        on, _, _, cue = self.slot(jnp.maximum(j, 0).astype(jnp.int32), item)
        return jnp.where(on & within & (j >= 0), self.amplitude, 0.0) * cue

    def events(self, t1: float) -> dict[str, np.ndarray]:
        """The cues presented in [t0, t1) (NumPy): `time`, `memory` (−1 for a
        mixed cue) and `stage` of each, for reports and counts."""
        n = int(np.ceil((t1 - float(self.t0)) / float(self.interval)))
        js = jnp.arange(max(n, 0))
        ts = float(self.t0) + np.asarray(js) * float(self.interval)

        @jax.jit
        def draws(rep, js, ts):
            on, m, mixed, _ = jax.vmap(rep.slot)(js)
            return on, m, mixed, jax.vmap(rep.rates.hypnogram.stage_at)(ts)

        on, m, mixed, stage = draws(self, js, jnp.asarray(ts))
        stage = np.asarray(stage)
        keep = np.asarray(on)
        mem = np.where(np.asarray(mixed), -1, np.asarray(m))
        return {"time": ts[keep], "memory": mem[keep], "stage": stage[keep]}


def targeted(
    patterns,
    index: int,
    stages: Sequence,
    rate: float,
    key: PRNGKeyArray,
    *,
    hypnogram: Hypnogram,
    **kwargs,
) -> Replay:
    """Targeted memory reactivation: memory `index` cued at `rate` (per time
    unit) in `stages` only (e.g. `["N2", "N3"]`), never mixed."""
    patterns = jnp.asarray(patterns)
    if not 0 <= index < patterns.shape[0]:
        raise ValueError(
            f"targeted: `index` must be in [0, {patterns.shape[0]}), got {index}."
        )
    rates = [0.0] * N_STAGES
    for s in stages:
        rates[stage_code(s)] = rate
    one_hot = jnp.zeros(patterns.shape[0]).at[index].set(1.0)
    return Replay(
        patterns,
        one_hot,
        StageSchedule(hypnogram, rates),
        key,
        mixing=StageSchedule(hypnogram, [0.0] * N_STAGES),
        **kwargs,
    )
