"""The end-of-sweep summary: counts per parameter combination, failures, means."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ._index import SweepPlan, _coord

MAX_ROWS_STORED = 1000
MAX_ROWS_SHOWN = 30
MAX_FAILED_VALUES = 50


def summary_variables(names, headline=()) -> list[str]:
    """Up to three observables for the summary table: the observables'
    `headline` names first (those saved), else the first names."""
    names = list(names)
    chosen = [v for v in headline if v in names][:3]
    return chosen or sorted(names)[:3]


def final_values(array: np.ndarray) -> np.ndarray:
    """`(network, time, ...)` → the last time point, first entry of other dims."""
    a = np.asarray(array)
    if a.ndim >= 2:
        a = a[:, -1]
    while a.ndim > 1:
        a = a[:, 0]
    return a.astype(np.float64)


def summary_blocks(
    store, names: list[str], budget: float, bytes_per_network: int
) -> Iterator[tuple[int, np.ndarray, dict[str, np.ndarray]]]:
    """`(start, status, {name: final value})` over a store, in blocks of whole
    chunks holding about `budget` bytes of one variable (at least a chunk)."""
    cs = store.chunk_size
    step = max(1, int(budget // max(bytes_per_network, 1)) // cs) * cs
    for a in range(0, store.n_networks, step):
        sl = slice(a, min(a + step, store.n_networks))
        status = np.asarray(store._array("status")[sl])
        yield a, status, {k: final_values(store._array(k)[sl]) for k in names}


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    return str(v)


def summarize(
    plan: SweepPlan,
    blocks: Iterable[tuple[int, np.ndarray, dict[str, np.ndarray]]],
    t_last: float,
    applies: dict[int, dict[str, bool]] | None = None,
) -> dict[str, Any]:
    """A JSON-able summary: totals, one row per grid/zip combination (the mean
    of each observable's last value over the combination's finished networks,
    left out where the observable means nothing for it), failures.

    `blocks` yields `(start, status, finals)` for consecutive runs of networks
    from 0 to the last: their status and `{observable: final value}` (see
    `final_values`). Counts and sums are accumulated block by block, each
    sum in network order (the same digits as summing all at once); memory
    grows with the stored rows and the axes, not the networks."""
    acc = _Accumulator(plan)
    for start, status, finals in blocks:
        acc.add(start, np.asarray(status), finals)
    return acc.result(t_last, applies)


class _SeedSet:
    """Distinct seeds of failed networks: a sorted array while small, then
    a bitmap of all seeds (one bit each)."""

    LIMIT = 1 << 20

    def __init__(self, seeds: int):
        self.seeds = seeds
        self.arr = np.empty(0, np.int64)
        self.bits: np.ndarray | None = None

    def add(self, s: np.ndarray) -> None:
        if self.bits is None:
            self.arr = np.union1d(self.arr, s)
            if len(self.arr) <= self.LIMIT:
                return
            self.bits = np.zeros((self.seeds + 7) // 8, np.uint8)
            s, self.arr = self.arr, np.empty(0, np.int64)
        np.bitwise_or.at(self.bits, s >> 3, (1 << (s & 7)).astype(np.uint8))

    def count(self) -> int:
        if self.bits is None:
            return len(self.arr)
        return int(np.bitwise_count(self.bits).sum())

    def first(self, k: int) -> list[int]:
        if self.bits is None:
            return self.arr[:k].tolist()
        out: list[int] = []
        for a in range(0, len(self.bits), 1 << 20):
            bits = np.unpackbits(self.bits[a : a + (1 << 20)], bitorder="little")
            out.extend((np.flatnonzero(bits)[: k - len(out)] + 8 * a).tolist())
            if len(out) >= k:
                break
        return out


class _Accumulator:
    """Per-row counts and sums and per-level failure counts, block by block."""

    def __init__(self, plan: SweepPlan):
        self.plan = plan
        self.rows = min(plan.n_cells, MAX_ROWS_STORED)
        # rows are the first cells in network order: cell c is the networks
        # [c * stride, (c + 1) * stride), so only those networks count here
        self.limit = plan.cell_start(self.rows) if self.rows < plan.n_cells else None
        r = self.rows
        self.n, self.n_ok = np.zeros(r), np.zeros(r)
        self.n_solver, self.n_nonfinite = np.zeros(r), np.zeros(r)
        self.k: dict[str, np.ndarray] = {}
        self.total: dict[str, np.ndarray] = {}
        self.ok = self.solver = self.nonfinite = 0
        self.bad_levels = {
            p: np.zeros(axis.size)
            for axis in plan.axes
            if axis.kind != "random"
            for p in axis.paths
        }
        self.bad_range: dict[str, list[float]] = {}
        self.bad_seeds = _SeedSet(plan.seeds)
        self.any_bad = False

    def add(self, start: int, status: np.ndarray, finals: dict) -> None:
        plan = self.plan
        ok = status == 0
        self.ok += int(ok.sum())
        self.solver += int((status == 1).sum())
        self.nonfinite += int((status == 2).sum())
        m = (
            len(status)
            if self.limit is None
            else max(0, min(len(status), self.limit - start))
        )
        if m:
            cell = plan.cell_at(np.arange(start, start + m, dtype=np.int64))
            r = self.rows

            def count(mask):
                return np.bincount(cell, weights=mask, minlength=r)

            okm = ok[:m]
            self.n += count(np.ones(m))
            self.n_ok += count(okm)
            self.n_solver += count(status[:m] == 1)
            self.n_nonfinite += count(status[:m] == 2)
            for name, v in finals.items():
                v = np.asarray(v)[:m]
                good = okm & np.isfinite(v)
                k = self.k.setdefault(name, np.zeros(r))
                total = self.total.setdefault(name, np.zeros(r))
                k += count(good)
                # in network order, continuing each row's running sum
                np.add.at(total, cell, np.where(good, v, 0.0))
        bad = np.flatnonzero(~ok)
        if not len(bad):
            return
        self.any_bad = True
        idx = start + bad
        levels = np.unravel_index(idx, plan.sizes)
        for axis, lev in zip(plan.axes, levels[:-1], strict=True):
            for p in axis.paths:
                if axis.kind == "random":
                    v = axis.columns[p][lev]
                    lo, hi = float(v.min()), float(v.max())
                    old = self.bad_range.get(p, [lo, hi])
                    self.bad_range[p] = [min(old[0], lo), max(old[1], hi)]
                else:
                    self.bad_levels[p] += np.bincount(lev, minlength=axis.size)
        self.bad_seeds.add(np.asarray(levels[-1], dtype=np.int64))

    def result(self, t_last: float, applies) -> dict[str, Any]:
        plan = self.plan
        cell_paths = [p for p in plan.paths if plan.kinds[p] != "random"]
        means = {
            name: np.where(k > 0, self.total[name] / np.maximum(k, 1), np.nan)
            for name, k in self.k.items()
        }
        rows = []
        for c in range(self.rows):
            first = np.array([plan.cell_start(c)])
            values = plan.values_at(first, cell_paths)
            row: dict[str, Any] = {p: _item(values[p][0]) for p in cell_paths}
            row.update(
                n=int(self.n[c]),
                ok=int(self.n_ok[c]),
                solver_failed=int(self.n_solver[c]),
                nonfinite=int(self.n_nonfinite[c]),
            )
            group = int(plan.group_at(first)[0])
            for name, m in means.items():
                label = f"{name} mean (t={t_last:g})"
                meaningful = (applies or {}).get(group, {}).get(name, True)
                if not meaningful:
                    row[label] = "n/a"
                else:
                    row[label] = float(m[c]) if np.isfinite(m[c]) else None
            rows.append(row)
        return {
            "n_networks": int(plan.n_networks),
            "ok": self.ok,
            "solver_failed": self.solver,
            "nonfinite": self.nonfinite,
            "rows": rows,
            "rows_truncated": self.rows < plan.n_cells,
            "diverged_where": self._where() if self.any_bad else {},
            "description": plan.describe(),
        }

    def _where(self) -> dict[str, Any]:
        plan, where = self.plan, {}
        for axis in plan.axes:
            for p, col in axis.columns.items():
                if axis.kind == "random":
                    where[p] = {
                        "failed_range": self.bad_range[p],
                        "swept_range": [float(col.min()), float(col.max())],
                    }
                    continue
                keys = _coord(col) if col.dtype.kind == "O" else col
                uniq, inv = np.unique(keys, return_inverse=True)
                n_bad = np.bincount(
                    inv, weights=self.bad_levels[p], minlength=len(uniq)
                )
                per_level = plan.n_networks // axis.size
                n_all = np.bincount(inv, minlength=len(uniq)) * per_level
                hit = np.flatnonzero(n_bad)[:MAX_FAILED_VALUES]
                where[p] = {
                    _fmt(uniq[j].item()): [int(n_bad[j]), int(n_all[j])] for j in hit
                }
        where["seed"] = {
            "failed_seeds": self.bad_seeds.first(50),
            "n": self.bad_seeds.count(),
        }
        return where


def _item(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple | list):
        return str(v)
    return v


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a plain-text table."""
    n, ok = summary["n_networks"], summary["ok"]
    failed = n - ok
    lines = [
        f"sweep summary: {summary['description']}",
        "  (values: the mean over each row's finished networks at the last save;"
        " n/a: the observable means nothing for that row)",
        f"  {ok} ok, {failed} failed ({summary['solver_failed']} solver failure(s), "
        f"{summary['nonfinite']} non-finite)",
    ]
    rows = summary["rows"]
    if rows:
        cols = list(rows[0])
        shown = rows[:MAX_ROWS_SHOWN]
        cells = [[_fmt(r[c]) if r[c] is not None else "-" for c in cols] for r in shown]
        width = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
        lines.append("")
        lines.append("  ".join(c.rjust(w) for c, w in zip(cols, width, strict=True)))
        lines.append("  ".join("-" * w for w in width))
        for x in cells:
            lines.append("  ".join(v.rjust(w) for v, w in zip(x, width, strict=True)))
        more = len(rows) - len(shown)
        if more > 0 or summary.get("rows_truncated"):
            lines.append(
                f"  ... {max(more, 0)} more row(s): see the store's 'summary' attribute"
                if not summary.get("rows_truncated")
                else "  ... more rows: group the store's variables by coordinates"
            )
    where = summary["diverged_where"]
    if where:
        lines.append("")
        lines.append("failed networks by swept parameter:")
        for p, info in where.items():
            if p == "seed":
                seeds = ", ".join(map(str, info["failed_seeds"][:10]))
                more = " ..." if info["n"] > 10 else ""
                lines.append(f"  seed: {seeds}{more}")
            elif "failed_range" in info:
                lo, hi = info["failed_range"]
                slo, shi = info["swept_range"]
                lines.append(
                    f"  {p}: failures in [{lo:.4g}, {hi:.4g}] (swept [{slo:.4g}, "
                    f"{shi:.4g}])"
                )
            else:
                parts = [f"{v}: {b}/{t}" for v, (b, t) in info.items()]
                lines.append(f"  {p}: " + ", ".join(parts[:20]))
    return "\n".join(lines)
