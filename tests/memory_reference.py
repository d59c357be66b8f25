"""NumPy transcription of Spens & Burgess's modern Hopfield retrieval
(`ContinuousHopfield.retrieve`), shared by the hippocampus tests."""

from __future__ import annotations

import numpy as np


def np_softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def np_retrieve(X, q, beta, max_iter=10, thresh=0.5, gain=None):
    """ξ ← X softmax(β Xᵀξ/√d) until at most `thresh` elements change, at most
    `max_iter` times (columns of `X` = patterns, `q` a column). `gain`: an
    input gain per pattern, multiplying its score (a column `(M, 1)`)."""
    g = 1.0 if gain is None else gain
    old = q.copy()
    it = 0
    while it < max_iter:
        new = X @ np_softmax(g * beta * (X.T @ old) / np.sqrt(X.shape[0]))
        if np.count_nonzero(old != new) <= thresh:
            break
        old = new
        it += 1
    return new
