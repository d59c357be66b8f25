"""What the hippocampus can replay: dot product against equal-norm similarity.

Stores `M` procedural shapes (the consolidation protocol's "train" split,
32x32 or 64x64, patterns 2x - 1) in `ModernHopfieldMemory` with beta = 20,
once with Spens & Burgess's dot product and once with `equal_norm=True`,
and reports for each:

- how many stored images are fixed points of retrieval (retrieved from
  themselves, they end within cosine 0.99 of themselves): an image that is
  not can never be recalled or replayed;
- replay from `Q` uniform-noise queries: the number of distinct stored
  images reached (coverage) and the share of each shape among them.

    .venv/bin/python benchmarks/hippocampus_similarity.py --m 1000 --q 2048
    .venv/bin/python benchmarks/hippocampus_similarity.py --m 10000 --q 10000
    .venv/bin/python benchmarks/hippocampus_similarity.py --palette vivid

`--palette` colours the images (`sleepjax.data.shapes.PALETTES`); the
script also prints how the patterns' norms differ by shape.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.random as jr
import numpy as np

from sleepjax.data.shapes import PALETTES, SHAPES, shapes
from sleepjax.dynamics import ModernHopfieldMemory, coverage


def _pct(shares) -> str:
    return ", ".join(f"{s} {100 * v:.0f}" for s, v in zip(SHAPES, shares, strict=True))


def _retrieve(mem, queries, block=1000):
    """Retrieval in blocks of queries (bounded memory); `(index, cosine)` of
    the nearest stored pattern."""
    run = jax.jit(lambda q: mem.nearest(mem.retrieve(q)))
    out = [run(queries[i : i + block]) for i in range(0, len(queries), block)]
    return tuple(np.concatenate([np.asarray(o[j]) for o in out]) for j in range(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=1000, help="stored images")
    ap.add_argument("--q", type=int, default=2048, help="noise queries")
    ap.add_argument("--size", type=int, default=32, choices=(32, 64))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--palette", default="muted", choices=tuple(PALETTES))
    args = ap.parse_args()
    k_data, k_query = jr.split(jr.key(args.seed))
    x, labels = shapes(
        k_data, args.m, size=args.size, split="train", palette=args.palette
    )
    X = (2.0 * x - 1.0).reshape(args.m, -1)
    y = np.asarray(labels["shape"])
    norm = np.linalg.norm(np.asarray(X, float), axis=1)
    by_shape = ", ".join(f"{s} {norm[y == k].mean():.1f}" for k, s in enumerate(SHAPES))
    q = jr.uniform(k_query, (args.q, X.shape[1]), minval=-1.0, maxval=1.0)
    stored = _pct(np.bincount(y, minlength=len(SHAPES)) / args.m)
    print(
        f"M = {args.m}, Q = {args.q}, {args.size}x{args.size}, palette "
        f"{args.palette}; stored: {stored} %"
    )
    print(f"pattern norm {norm.mean():.1f} ± {norm.std():.1f}; by shape: {by_shape}")
    for eq in (False, True):
        t0 = time.perf_counter()
        mem = ModernHopfieldMemory(X, 20.0, equal_norm=eq)
        idx, cos = _retrieve(mem, X)
        fixed = int(np.sum((idx == np.arange(args.m)) & (cos >= 0.99)))
        idx, cos = _retrieve(mem, q)
        reached = int(coverage(idx, cos, args.m))
        share = np.bincount(y[idx], minlength=len(SHAPES)) / args.q
        shares = _pct(share)
        name = "equal_norm" if eq else "dot"
        print(
            f"{name:10s} fixed points {fixed}/{args.m}; replay reaches "
            f"{reached}/{args.m}; replays by shape: {shares} % "
            f"({time.perf_counter() - t0:.0f} s)"
        )


if __name__ == "__main__":
    main()
