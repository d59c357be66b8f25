"""Helpers shared by the slow-wave reports."""

from __future__ import annotations

import numpy as np

from ...plot import StoreView

STATE_LABELS = {
    "global_down": "global down",
    "local_down": "local down",
    "global_up": "global up",
    "local_up": "local up",
}


def column(view: StoreView, path: str, kind=float) -> np.ndarray:
    """Per-network values of a swept path or the run-wide setting."""
    v = view.label(path)
    if kind is bool:
        return np.array([str(x).lower() in ("true", "1", "1.0") for x in v])
    return v.astype(kind)


def mean_sem(x) -> tuple[float, float, int]:
    """Mean, standard error and count of the finite values of `x`."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, 0
    sem = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else np.nan
    return float(x.mean()), float(sem), int(x.size)
