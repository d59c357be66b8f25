"""Hypnograms: a night as a schedule of sleep stages, evaluated inside jit.

A `Hypnogram` is a pytree of fixed-size arrays (segment starts and stages,
wake intrusions, the end of the night), so `stage_at(t)` runs inside a
compiled solve or scan, and a batch of hypnograms built with `jax.vmap`
(different keys, different disorder parameters) runs over a batch of
networks in one compiled call.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .._errors import is_concrete

#: stage codes (integers inside jit)
WAKE, N1, N2, N3, REM = 0, 1, 2, 3, 4
STAGES = ("WAKE", "N1", "N2", "N3", "REM")
N_STAGES = len(STAGES)
NREM = (N1, N2, N3)

#: segments per generated cycle: N1, N2 (before N3), N3, N2 (after), REM, wake
_CYCLE = (N1, N2, N3, N2, REM, WAKE)


def stage_code(stage) -> int:
    """The integer code of a stage given by name (`"N3"`, case-insensitive) or
    code (0-4); raises `ValueError` naming the valid stages otherwise."""
    if isinstance(stage, str):
        name = stage.strip().upper()
        if name not in STAGES:
            raise ValueError(
                f"unknown sleep stage {stage!r}; valid: {', '.join(STAGES)}."
            )
        return STAGES.index(name)
    if isinstance(stage, int | np.integer) and not isinstance(stage, bool):
        if 0 <= int(stage) < N_STAGES:
            return int(stage)
    raise ValueError(
        f"sleep stage must be a name ({', '.join(STAGES)}) or a code 0-"
        f"{N_STAGES - 1}, got {stage!r}."
    )


def per_stage(values, default: float = 0.0, name: str = "values") -> Array:
    """A length-5 float array indexed by stage code, from a mapping
    `{stage: value}` (missing stages get `default`) or a sequence of 5."""
    if isinstance(values, dict):
        out = [float(default)] * N_STAGES
        for k, v in values.items():
            out[stage_code(k)] = v
        return jnp.asarray(out, dtype=jnp.result_type(float))
    arr = jnp.asarray(values, dtype=jnp.result_type(float))
    if arr.shape != (N_STAGES,):
        raise ValueError(
            f"`{name}` needs one value per stage {STAGES} (shape (5,)) or a "
            f"mapping {{stage: value}}, got shape {arr.shape}."
        )
    return arr


class Hypnogram(eqx.Module):
    r"""A night: stage $s(t)$ for every time $t$ (model time units).

    $s(t)$ is the stage of the last segment starting at or before $t$, or
    WAKE when $t$ is before the first start, at or after `end`, or inside a
    wake intrusion $[a_j, a_j + d_j)$. Zero-length segments and intrusions
    are padding (they never apply), so every array has a fixed size.

    **Fields:**

    - `starts`: segment start times, non-decreasing, shape `(k,)`.
    - `stages`: segment stage codes (`WAKE`, `N1`, `N2`, `N3`, `REM`), `(k,)`.
    - `end`: end of the night (a scalar).
    - `wake_at`, `wake_len`: wake intrusions' onsets and durations, `(m,)`.
    - `cycles`: cycle start times, `(c + 1,)` (the last is the end of the
      last cycle); for an explicit table, `(start, end)`.
    """

    starts: Float[Array, " k"]
    stages: Int[Array, " k"]
    end: Float[Array, ""]
    wake_at: Float[Array, " m"]
    wake_len: Float[Array, " m"]
    cycles: Float[Array, " c1"]

    def __check_init__(self):
        if not is_concrete(self.starts):
            return
        s = np.asarray(self.starts)
        if s.ndim != 1 or np.asarray(self.stages).shape != s.shape:
            raise ValueError("Hypnogram: `starts` and `stages` must be (k,) arrays.")
        if not np.all(np.isfinite(s)) or np.any(np.diff(s) < 0):
            raise ValueError("Hypnogram: `starts` must be finite and non-decreasing.")

    # ------------------------------------------------------------ evaluation
    def stage_at(self, t) -> Int[Array, ""]:
        """The stage code at time `t` (a scalar; works inside jit and vmap)."""
        k = jnp.searchsorted(self.starts, t, side="right") - 1
        base = self.stages[jnp.clip(k, 0, self.starts.shape[0] - 1)]
        woken = jnp.any((t >= self.wake_at) & (t < self.wake_at + self.wake_len))
        asleep = (k >= 0) & (t < self.end) & ~woken
        return jnp.where(asleep, base, WAKE).astype(jnp.int32)

    def in_stages(self, t, stages: Sequence) -> Bool[Array, ""]:
        """Whether the stage at `t` is one of `stages` (names or codes)."""
        codes = jnp.asarray([stage_code(s) for s in stages])
        return jnp.any(self.stage_at(t) == codes)

    def entered(self, t_prev, t, stages: Sequence) -> Bool[Array, ""]:
        """Whether the stage changed into one of `stages` between `t_prev` and
        `t` (sampled at the two times: one step of a discrete map)."""
        return self.in_stages(t, stages) & ~self.in_stages(t_prev, stages)

    def values(self, t, table: Float[Array, " 5"]) -> Float[Array, ""]:
        """`table[s(t)]`: a per-stage value at time `t`."""
        return table[self.stage_at(t)]

    def duration_in(self, stages: Sequence) -> Float[Array, ""]:
        """Time spent in `stages` before `end`, from the segments (wake
        intrusions not subtracted); traceable."""
        codes = jnp.asarray([stage_code(s) for s in stages])
        stops = jnp.minimum(jnp.append(self.starts[1:], self.end), self.end)
        length = jnp.maximum(stops - jnp.minimum(self.starts, self.end), 0.0)
        return jnp.sum(jnp.where(jnp.isin(self.stages, codes), length, 0.0))

    # ---------------------------------------------------------------- views
    def table(self) -> list[tuple[int, float, float]]:
        """The night as `(stage, start, stop)` rows covering [starts[0], end),
        wake intrusions merged in, zero-length rows dropped (NumPy; concrete
        hypnograms only). Adjacent rows of the same stage are merged."""
        starts = np.asarray(self.starts, float)
        stages = np.asarray(self.stages, int)
        end = float(self.end)
        stops = np.append(starts[1:], end)
        rows = [
            (int(s), float(a), float(min(b, end)))
            for s, a, b in zip(stages, starts, stops, strict=True)
            if min(b, end) > a
        ]
        for a, d in zip(
            np.asarray(self.wake_at), np.asarray(self.wake_len), strict=True
        ):
            a, b = float(a), float(min(a + d, end))
            if b <= a:
                continue
            cut = []
            for s, x, y in rows:
                if y <= a or x >= b:
                    cut.append((s, x, y))
                    continue
                if x < a:
                    cut.append((s, x, a))
                cut.append((WAKE, max(x, a), min(y, b)))
                if y > b:
                    cut.append((s, b, y))
            rows = cut
        merged: list[tuple[int, float, float]] = []
        for s, x, y in rows:
            if merged and merged[-1][0] == s and merged[-1][2] == x:
                merged[-1] = (s, merged[-1][1], y)
            else:
                merged.append((s, x, y))
        return merged

    def time_in(self, t_from=None, t_to=None) -> np.ndarray:
        """Time spent in each stage within [t_from, t_to) (NumPy, shape (5,);
        defaults: the whole night)."""
        rows = self.table()
        lo = rows[0][1] if t_from is None else float(t_from)
        hi = float(self.end) if t_to is None else float(t_to)
        out = np.zeros(N_STAGES)
        for s, a, b in rows:
            out[s] += max(0.0, min(b, hi) - max(a, lo))
        return out

    def boundaries(self, into: Sequence) -> np.ndarray:
        """Times at which the night enters one of the stages `into` (NumPy)."""
        codes = {stage_code(s) for s in into}
        rows = self.table()
        return np.asarray(
            [
                a
                for i, (s, a, _) in enumerate(rows)
                if s in codes and (i == 0 or rows[i - 1][0] not in codes)
            ]
        )


# ------------------------------------------------------------------ builders
def from_table(
    table: Sequence[tuple], t0: float = 0.0, time_scale: float = 1.0
) -> Hypnogram:
    """A hypnogram from an explicit table of `(stage, duration)` rows.

    `stage` is a name (`"N2"`) or a code; `duration` > 0 is in the table's
    unit (e.g. minutes), multiplied by `time_scale` (model time per table
    unit). The night starts at `t0` and ends after the last row.
    """
    if len(table) == 0:
        raise ValueError("from_table: the table has no rows.")
    stages, durations = [], []
    for i, row in enumerate(table):
        if len(row) != 2:
            raise ValueError(
                f"from_table: row {i} must be (stage, duration), got {row!r}."
            )
        stage, dur = row
        stages.append(stage_code(stage))
        dur = float(dur)
        if not np.isfinite(dur) or dur <= 0:
            raise ValueError(f"from_table: row {i} has duration {dur!r}; need > 0.")
        durations.append(dur * time_scale)
    if not time_scale > 0:
        raise ValueError(f"from_table: `time_scale` must be > 0, got {time_scale}.")
    edges = float(t0) + np.concatenate([[0.0], np.cumsum(durations)])
    f = jnp.result_type(float)
    return Hypnogram(
        starts=jnp.asarray(edges[:-1], f),
        stages=jnp.asarray(stages, jnp.int32),
        end=jnp.asarray(edges[-1], f),
        wake_at=jnp.zeros((1,), f),
        wake_len=jnp.zeros((1,), f),
        cycles=jnp.asarray([edges[0], edges[-1]], f),
    )


def stage_mix(
    n_cycles: int,
    n3_first: float = 0.40,
    n3_last: float = 0.0,
    rem_first: float = 0.10,
    rem_last: float = 0.35,
    n1: float = 0.05,
) -> Float[Array, "c 5"]:
    r"""Mean stage fractions of each cycle, shape `(n_cycles, 5)`.

    With $x_c = c / (C - 1)$ (0 in the first cycle, 1 in the last):
    N3 $= (1 - x_c)\,n3_{first} + x_c\,n3_{last}$, REM likewise, N1 = `n1`,
    N2 the rest, WAKE 0. N3 dominates early, REM late (Carskadon & Dement).
    """
    x = jnp.linspace(0.0, 1.0, n_cycles) if n_cycles > 1 else jnp.zeros((1,))
    f3 = (1 - x) * n3_first + x * n3_last
    fr = (1 - x) * rem_first + x * rem_last
    f1 = jnp.full_like(x, n1)
    f2 = 1.0 - f1 - f3 - fr
    return jnp.stack([jnp.zeros_like(x), f1, f2, f3, fr], axis=1)


def generate(
    key: PRNGKeyArray,
    *,
    n_cycles: int = 5,
    cycle: float = 90.0,
    cycle_cv: float = 0.1,
    variability: float = 0.3,
    mix: Float[Array, "c 5"] | None = None,
    fragmentation: float = 0.0,
    bout: float = 2.0,
    max_intrusions: int = 4,
    rem_deprivation: float = 0.0,
    n3_suppression: float = 0.0,
    night_fraction: float = 1.0,
    t0: float = 0.0,
    time_scale: float = 1.0,
) -> Hypnogram:
    r"""A generated night: `n_cycles` cycles of N1 → N2 → N3 → N2 → REM.

    Stochastic and deterministic per `key`; every number may be a tracer
    (vmap over keys and disorder parameters). Lengths are in the unit of
    `cycle` (minutes), multiplied by `time_scale` (model time per minute).

    - Cycle $c$ lasts $L_c = L\,(1 + \sqrt3\,v\,z_c)$, $z_c \sim U(-1, 1)$
      ($v$ = `cycle_cv` < 0.5: the coefficient of variation), so
      $E[L_c] = L$. (All draws come from one uniform array: threefry
      compiles slowly on CPU, one call per draw would multiply it.)
    - Its fractions are $f_{c,s} = \mu_{c,s}\,(1 + \epsilon\,(z_s -
      \sum_r \mu_{c,r} z_r))$ with $\mu$ = `mix[c]` (default `stage_mix`),
      $z_s \sim U(-1, 1)$ and ε = `variability` < 0.5: they sum to 1, stay
      positive, a stage of mean 0 stays absent, and their mean over keys is
      exactly the mix. N2 is split in two halves around N3.
    - Disorder: `n3_suppression` $\in [0, 1]$ moves that share of N3 to N2;
      `rem_deprivation` $\in [0, 1]$ turns that share of each REM period
      into wake (an awakening at its end); `fragmentation` is a rate of wake
      intrusions per unit of sleep time (per minute), each lasting `bout`:
      each cycle has `max_intrusions` candidate onsets, uniform in the cycle,
      each on with probability $\min(1, \text{rate}\,L_c / m)$;
      `night_fraction` $\in (0, 1]$ ends the night early (wake after).
    """
    if n_cycles < 1 or max_intrusions < 1:
        raise ValueError("generate: `n_cycles` and `max_intrusions` must be >= 1.")
    for name, v, lo, hi in (
        ("rem_deprivation", rem_deprivation, 0.0, 1.0),
        ("n3_suppression", n3_suppression, 0.0, 1.0),
        ("night_fraction", night_fraction, 1e-9, 1.0),
        ("cycle_cv", cycle_cv, 0.0, 0.49),
    ):
        if is_concrete(v) and not lo <= float(v) <= hi:
            raise ValueError(f"generate: `{name}` must be in [{lo}, {hi}], got {v}.")
    for name, v in (("cycle", cycle), ("bout", bout), ("time_scale", time_scale)):
        if is_concrete(v) and not float(v) > 0:
            raise ValueError(f"generate: `{name}` must be > 0, got {v}.")
    if is_concrete(fragmentation) and not float(fragmentation) >= 0:
        raise ValueError(
            f"generate: `fragmentation` must be >= 0, got {fragmentation}."
        )
    if is_concrete(variability) and not 0.0 <= float(variability) < 0.5:
        raise ValueError(
            f"generate: `variability` must be in [0, 0.5), got {variability}."
        )
    mix = stage_mix(n_cycles) if mix is None else jnp.asarray(mix)
    if mix.shape != (n_cycles, N_STAGES):
        raise ValueError(
            f"generate: `mix` must have shape ({n_cycles}, 5), got {mix.shape}."
        )
    m = max_intrusions
    draws = jr.uniform(key, (n_cycles, 1 + N_STAGES + 2 * m))
    z = 2.0 * draws[:, 0] - 1.0
    lengths = cycle * (1.0 + jnp.sqrt(3.0) * cycle_cv * z) * time_scale
    # fractions with mean `mix`, summing to 1 (zero-mean stages stay zero)
    zs = 2.0 * draws[:, 1 : 1 + N_STAGES] - 1.0
    zs = zs - jnp.sum(mix * zs, axis=1, keepdims=True)
    frac = mix * (1.0 + variability * zs)
    f1, f2, f3, fr = frac[:, N1], frac[:, N2], frac[:, N3], frac[:, REM]
    f3_kept = f3 * (1.0 - n3_suppression)
    f2_half = 0.5 * (f2 + f3 - f3_kept)
    rem_kept = fr * (1.0 - rem_deprivation)
    seg = (
        jnp.stack([f1, f2_half, f3_kept, f2_half, rem_kept, fr - rem_kept], axis=1)
        * lengths[:, None]
    )
    cycles = t0 + jnp.concatenate([jnp.zeros((1,)), jnp.cumsum(lengths)])
    # exclusive sums (not cumsum - seg, whose rounding can step back after a
    # zero-length stage): non-decreasing, as a cumsum of non-negatives is
    offsets = jnp.concatenate(
        [jnp.zeros_like(seg[:, :1]), jnp.cumsum(seg, axis=1)[:, :-1]], axis=1
    )
    # clipped at the next cycle's start: rounding must not put a start past it
    starts = jnp.minimum(cycles[:-1, None] + offsets, cycles[1:, None]).reshape(-1)
    stages = jnp.tile(jnp.asarray(_CYCLE, jnp.int32), n_cycles)
    end = t0 + night_fraction * (cycles[-1] - t0)
    # wake intrusions
    u_on, u_use = draws[:, 1 + N_STAGES : 1 + N_STAGES + m], draws[:, -m:]
    onset = cycles[:-1, None] + u_on * lengths[:, None]
    p_on = jnp.minimum(1.0, fragmentation * lengths / time_scale / m)
    used = u_use < p_on[:, None]
    wake_len = jnp.where(used, bout * time_scale, 0.0).reshape(-1)
    return Hypnogram(
        starts=starts,
        stages=stages,
        end=jnp.asarray(end),
        wake_at=onset.reshape(-1),
        wake_len=wake_len,
        cycles=cycles,
    )


def stage_fractions(hyp: Hypnogram) -> np.ndarray:
    """Fraction of each cycle spent in each stage, shape `(c, 5)` (NumPy)."""
    edges = np.asarray(hyp.cycles)
    return np.stack(
        [
            hyp.time_in(a, b) / (b - a)
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
    )


def stage_times(hyp: Hypnogram, ts) -> Int[Array, " t"]:
    """`stage_at` at each of the times `ts` (vectorised)."""
    return jax.vmap(hyp.stage_at)(jnp.asarray(ts))


def nightly(key: PRNGKeyArray, nights: int, period: float, **kwargs) -> Hypnogram:
    """`nights` generated nights (keyword arguments as `generate`), night k
    starting at `t0 + k·period`, wake in between: one hypnogram.

    Each night's segments are clipped at its own end and followed by a WAKE
    segment, so `night_fraction` shortens every night."""
    if nights < 1:
        raise ValueError(f"nightly: `nights` must be >= 1, got {nights}.")
    t0 = kwargs.pop("t0", 0.0)
    hyps = [
        generate(k, t0=t0 + i * period, **kwargs)
        for i, k in enumerate(jr.split(key, nights))
    ]
    first_next = [h.cycles[0] for h in hyps[1:]]
    for h, nxt in zip(hyps[:-1], first_next, strict=True):
        if is_concrete(h.cycles) and float(h.cycles[-1]) > float(nxt):
            raise ValueError(
                f"nightly: a night lasts {float(h.cycles[-1] - h.cycles[0]):g}, "
                f"longer than the `period` {period:g}."
            )
    starts, stages = [], []
    for h in hyps:
        starts += [jnp.minimum(h.starts, h.end), h.end[None]]
        stages += [h.stages, jnp.asarray([WAKE], jnp.int32)]
    return Hypnogram(
        starts=jnp.concatenate(starts),
        stages=jnp.concatenate(stages),
        end=hyps[-1].end,
        wake_at=jnp.concatenate([h.wake_at for h in hyps]),
        wake_len=jnp.concatenate([h.wake_len for h in hyps]),
        cycles=jnp.concatenate([h.cycles for h in hyps]),
    )
