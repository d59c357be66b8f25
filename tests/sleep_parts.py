"""Shared by the sleep tests: a NumPy stage lookup and a tiny Hebbian map."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import sleepjax as sj
from sleepjax import sleep as sl


def np_stage(rows, t):
    """Stage of a (stage, start, stop) table at time t; WAKE outside it."""
    for s, a, b in rows:
        if a <= t < b:
            return s
    return sl.WAKE


class HebbMap(sj.AbstractMap):
    """W ← W + 0.01 φφᵀ while awake; identity asleep."""

    hyp: sl.Hypnogram
    phi: jax.Array

    def step(self, t, y, key):
        wake = (self.hyp.stage_at(t) == sl.WAKE).astype(y.W.dtype)
        return sj.NetworkState(
            y.neurons, y.W + 0.01 * wake * jnp.outer(self.phi, self.phi), None, None
        )
