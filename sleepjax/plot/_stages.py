"""Sleep stages in figures: one colour per stage, and a hypnogram."""

from __future__ import annotations

import numpy as np

from ..sleep import STAGES

#: a colour per stage code (WAKE, N1, N2, N3, REM)
STAGE_COLORS = ("0.5", "#9ecae1", "#4292c6", "#08306b", "#e6550d")
#: stages from top to bottom in a hypnogram
_ORDER = (0, 4, 1, 2, 3)  # WAKE, REM, N1, N2, N3
_HEIGHT = {s: -i for i, s in enumerate(_ORDER)}


def draw_hypnogram(ax, t, stage, t_unit: float = 1.0):
    """A hypnogram: the stage code at each save time, as a step line with
    coloured bars (WAKE top, REM, N1, N2, N3 bottom)."""
    stage = np.asarray(stage).round().astype(int)
    h = np.array([_HEIGHT[s] for s in stage])
    x = np.asarray(t) / t_unit
    ax.step(x, h, where="post", color="k", lw=0.7)
    for s in _ORDER:
        on = stage == s
        ax.fill_between(
            x,
            -4.6,
            0.4,
            where=on,
            step="post",
            color=STAGE_COLORS[s],
            alpha=0.35,
            lw=0,
        )
    ax.set_yticks([_HEIGHT[s] for s in _ORDER], [STAGES[s] for s in _ORDER])
    ax.set_ylim(-4.6, 0.4)
