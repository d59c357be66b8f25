"""What follows a cue in the life cycle: a sustained oscillation in the cued
plane (paper Fig. 5: "activity follows the oscillatory trajectory of the
dynamic memory item"), a damped rotation, or no rotation at all; classified
per network from the saved reduced coordinates (p_u, p_v) of the plane."""

from __future__ import annotations

import numpy as np

#: sustained: the radius over the last quarter of the window keeps at least
#: this fraction of its value when the cue ends, and the phase turns at
#: least `MIN_TURNS` times
KEEP, MIN_TURNS = 0.5, 1.0
#: ongoing activity: before the cue the plane already fluctuates by at least
#: this fraction of the radius at the cue's end
ONGOING = 0.2
OUTCOMES = ("sustained", "damped rotation", "no rotation", "ongoing activity")


def cue_outcomes(t, pu, pv, t_on: float, duration: float, window: float):
    """Per network (rows of `pu`, `pv`: (network, time)): the outcome of a
    cue at `t_on` lasting `duration`, judged over (t_on + duration,
    t_on + window], relative to the mean over the time unit before the cue.

    - radius r(t) = |(p_u, p_v) − baseline|; r₀ = r at the first save after
      the cue ends; r_end = mean r over the last quarter of the window;
    - turns = |unwrapped phase change| / 2π over the window;
    - `"sustained"`: r_end ≥ `KEEP`·r₀ and turns ≥ `MIN_TURNS`;
      `"damped rotation"`: otherwise, if the phase advanced by ≥ a quarter
      turn (u rotated into v); `"no rotation"`: the rest;
    - but `"ongoing activity"` when, over the `window` before the cue, the
      plane's coordinates already fluctuate (root-mean-square distance from
      their mean) by ≥ `ONGOING`·r₀: a spontaneously active network, where
      what follows the cue cannot be told apart from what precedes it.

    Returns (outcome strings, r_end / r₀, turns); outcome "" where fewer than
    8 saves fall in the window (save finer around the cues)."""
    t = np.asarray(t, float)
    pre = (t >= t_on - 1.0) & (t < t_on)
    post = (t > t_on + duration) & (t <= t_on + window)
    n = pu.shape[0]
    if pre.sum() < 1 or post.sum() < 8:
        return np.full(n, "", dtype=object), np.full(n, np.nan), np.full(n, np.nan)
    du = pu[:, post] - pu[:, pre].mean(axis=1, keepdims=True)
    dv = pv[:, post] - pv[:, pre].mean(axis=1, keepdims=True)
    r = np.hypot(du, dv)
    last = t[post] >= t_on + duration + 0.75 * (window - duration)
    keep = r[:, last].mean(axis=1) / np.maximum(r[:, 0], 1e-12)
    phase = np.unwrap(np.arctan2(dv, du), axis=1)
    turns = np.abs(phase[:, -1] - phase[:, 0]) / (2 * np.pi)
    before = (t >= t_on - window) & (t < t_on)
    bu = pu[:, before] - pu[:, before].mean(axis=1, keepdims=True)
    bv = pv[:, before] - pv[:, before].mean(axis=1, keepdims=True)
    fluct = np.sqrt(np.mean(bu**2 + bv**2, axis=1))
    out = np.where(
        (keep >= KEEP) & (turns >= MIN_TURNS),
        OUTCOMES[0],
        np.where(turns >= 0.25, OUTCOMES[1], OUTCOMES[2]),
    ).astype(object)
    out = np.where(fluct >= ONGOING * r[:, 0], OUTCOMES[3], out).astype(object)
    return out, keep, turns


def outcome_counts(outcomes) -> str:
    """'sustained k/n, damped rotation k/n, no rotation k/n'."""
    outcomes = np.asarray(outcomes)
    valid = outcomes[outcomes != ""]
    if valid.size == 0:
        return "-"
    return ", ".join(f"{o} {int(np.sum(valid == o))}/{valid.size}" for o in OUTCOMES)
