"""The end-of-sweep summary: counts per parameter combination, failures, means."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._plan import SweepPlan, _coord

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


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    return str(v)


def summarize(
    plan: SweepPlan,
    status: np.ndarray,
    finals: dict[str, np.ndarray],
    t_last: float,
    applies: dict[int, dict[str, bool]] | None = None,
) -> dict[str, Any]:
    """A JSON-able summary: totals, one row per grid/zip combination (the mean
    of each observable's last value over the combination's finished networks,
    left out where the observable means nothing for it), failures."""
    status = np.asarray(status)
    ok = status == 0
    cell_paths = [p for p in plan.paths if plan.kinds[p] != "random"]
    cells, first, inverse = np.unique(plan.cell, return_index=True, return_inverse=True)
    order = np.argsort(first)[:MAX_ROWS_STORED]  # rows in network order

    def count(mask):
        return np.bincount(inverse, weights=mask, minlength=len(cells))

    n, n_ok = count(np.ones_like(ok)), count(ok)
    n_solver, n_nonfinite = count(status == 1), count(status == 2)
    means = {}
    for name, v in finals.items():
        good = ok & np.isfinite(v)
        k = count(good)
        total = np.bincount(
            inverse, weights=np.where(good, v, 0.0), minlength=len(cells)
        )
        means[name] = np.where(k > 0, total / np.maximum(k, 1), np.nan)
    rows = []
    for c in order:
        row: dict[str, Any] = {p: _item(plan.values[p][first[c]]) for p in cell_paths}
        row.update(
            n=int(n[c]),
            ok=int(n_ok[c]),
            solver_failed=int(n_solver[c]),
            nonfinite=int(n_nonfinite[c]),
        )
        group = int(plan.group[first[c]])
        for name, m in means.items():
            label = f"{name} mean (t={t_last:g})"
            meaningful = (applies or {}).get(group, {}).get(name, True)
            if not meaningful:
                row[label] = "n/a"
            else:
                row[label] = float(m[c]) if np.isfinite(m[c]) else None
        rows.append(row)

    where: dict[str, Any] = {}
    bad = ~ok
    if bad.any():
        for p in plan.paths:
            vals = plan.values[p]
            if plan.kinds[p] == "random":
                where[p] = {
                    "failed_range": [float(vals[bad].min()), float(vals[bad].max())],
                    "swept_range": [float(vals.min()), float(vals.max())],
                }
                continue
            keys = _coord(vals) if vals.dtype.kind == "O" else vals
            uniq, inv = np.unique(keys, return_inverse=True)
            n_bad = np.bincount(inv, weights=bad, minlength=len(uniq))
            n_all = np.bincount(inv, minlength=len(uniq))
            hit = np.flatnonzero(n_bad)[:MAX_FAILED_VALUES]
            where[p] = {
                _fmt(uniq[j].item()): [int(n_bad[j]), int(n_all[j])] for j in hit
            }
        seeds = np.unique(plan.seed[bad])
        where["seed"] = {"failed_seeds": seeds[:50].tolist(), "n": int(len(seeds))}
    return {
        "n_networks": int(plan.n_networks),
        "ok": int(ok.sum()),
        "solver_failed": int((status == 1).sum()),
        "nonfinite": int((status == 2).sum()),
        "rows": rows,
        "rows_truncated": len(rows) < len(cells),
        "diverged_where": where,
        "description": plan.describe(),
    }


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
