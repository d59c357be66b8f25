r"""Normals for the weight noise: PRNG implementations and cheaper generators.

The weight noise needs N² standard normals per network per step; on a CPU
they cost ~20x the rest of the step (the noise-free floor of
`benchmarks/throughput.py` runs that much faster). This script measures, in
one process, the cost per normal of:

``jr.normal[threefry2x32]``
    `jax.random.normal(fold_in(key, k), (N, N))` with JAX's default threefry:
    the hand-written floor's generator. JAX lowers the threefry hash on CPU as
    a rolled 5-iteration loop over whole arrays (nothing fuses around it).
``jr.normal[rbg]``, ``jr.normal[unsafe_rbg]``
    the same call with the other PRNG implementations (XLA's RngBitGenerator).
``sleepjax fused threefry``
    what `FoldInBrownianPath` computes: the same 20 threefry rounds written in
    jax.numpy, fused with the uniform -> erf_inv transform into one loop.
    Bit-for-bit identical to the first row (checked here).
``threefry, 2 normals/hash``
    both 32-bit outputs of each threefry block used (half the hashes, as JAX's
    old non-partitionable scheme); the words are materialised once
    (`optimization_barrier`), else XLA recomputes the hash for each consumer.
``16-bit table, 2/word`` and ``1/word (fused)``
    "cheaper normals": a 16-bit index into a 65 536-entry table of normal
    quantiles at the bin midpoints, rescaled to unit variance: a discrete
    normal (tails cut at 4.17 σ). Two per 32-bit word of `jax.random.bits`,
    or one per word of the fused hash.
``float16 / bfloat16, cast``
    `jax.random.normal(..., dtype=float16|bfloat16).astype(float32)`.
``Box-Muller``
    two uniforms (`jax.random.bits`) -> two normals (log, sqrt, cos, sin).
``block of k steps in one call``
    one `jax.random.normal(key, (k, N, N))` per k steps instead of k calls of
    (N, N) (per-call overhead; the number of normals is the same).
``bits only``
    the fused threefry bits without the normal transform (for scale).

Statistics of each generator over ~4·10⁶ draws: mean, variance, lag-1
correlation between consecutive steps and between neighbouring entries
("equal" means within 4 standard errors of N(0, 1)'s values: 0, 1, 0, 0), and,
for information, the excess kurtosis (with its standard error) and max |z|.

Also: a full `simulate` (default Euler, the throughput workload) with each PRNG
implementation's keys.

Usage::

    python benchmarks/prng.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from scipy.special import ndtri

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sleepjax._brownian import (  # noqa: E402
    _threefry2x32,
    _threefry_fold_in,
    _threefry_normal,
)

F32 = np.float32
SQRT2 = F32(np.sqrt(2.0))
LO = np.nextafter(F32(-1.0), F32(0.0))


def _table16() -> np.ndarray:
    q = ndtri((np.arange(65536) + 0.5) / 65536)
    return (q / q.std()).astype(np.float32)  # unit variance, mean 0 (symmetric)


TABLE16 = _table16()


def _u23_normal(bits):
    """JAX's uniform(-1, 1) from the top 23 bits, then √2·erf_inv."""
    u = jax.lax.bitcast_convert_type(
        (bits >> np.uint32(9)) | np.uint32(0x3F800000), F32
    )
    u = jnp.maximum(LO, (u - F32(1.0)) * (F32(1.0) - LO) + LO)
    return SQRT2 * jax.lax.erf_inv(u)


def _kd(key):
    return jr.key_data(key)


def _counts(shape):
    return jax.lax.iota(jnp.uint32, int(np.prod(shape))).reshape(shape)


# --- generators: (key, k, shape) -> float32 normals of `shape` for step k ---


def g_jr(key, k, shape):
    return jr.normal(jr.fold_in(key, k), shape, jnp.float32)


def g_fused(key, k, shape):
    return _threefry_normal(_threefry_fold_in(_kd(key), k), shape, jnp.float32)


def g_two_per_hash(key, k, shape):
    kd = _threefry_fold_in(_kd(key), k)
    half = (shape[0] // 2, *shape[1:])
    c = _counts(half)
    b1, b2 = jax.lax.optimization_barrier(
        _threefry2x32(kd[0], kd[1], jnp.zeros_like(c), c)
    )
    return jnp.concatenate([_u23_normal(b1), _u23_normal(b2)], 0)


def _table_lookup(w):
    """Two table normals per 32-bit word (upper and lower 16 bits)."""
    t = jnp.asarray(TABLE16)
    return jnp.stack([t[w >> np.uint32(16)], t[w & np.uint32(0xFFFF)]], -1)


def g_table16(key, k, shape):
    # Bits from jax.random.bits: its rolled hash loop materialises the words,
    # which keeps the gathers out of the hash's fusion (fused with it, as with
    # the unrolled hash, XLA's CPU code for the gathers is ~10x slower).
    half = (*shape[:-1], shape[-1] // 2)
    w = jr.bits(jr.fold_in(key, k), half, jnp.uint32)
    return _table_lookup(w).reshape(shape)


def g_table16_one(key, k, shape):
    kd = _threefry_fold_in(_kd(key), k)
    c = _counts(shape)
    b1, b2 = _threefry2x32(kd[0], kd[1], jnp.zeros_like(c), c)
    w = jax.lax.optimization_barrier(b1 ^ b2)
    return jnp.asarray(TABLE16)[w >> np.uint32(16)]


def g_f16(key, k, shape):
    return jr.normal(jr.fold_in(key, k), shape, jnp.float16).astype(jnp.float32)


def g_bf16(key, k, shape):
    return jr.normal(jr.fold_in(key, k), shape, jnp.bfloat16).astype(jnp.float32)


def g_box_muller(key, k, shape):
    half = (*shape[:-1], shape[-1] // 2)
    b = jr.bits(jr.fold_in(key, k), (2, *half), jnp.uint32)
    u1 = ((b[0] >> np.uint32(8)).astype(F32) + F32(0.5)) * F32(2.0**-24)
    u2 = (b[1] >> np.uint32(8)).astype(F32) * F32(2.0**-24 * 2 * np.pi)
    r = jnp.sqrt(F32(-2.0) * jnp.log(u1))
    return jnp.stack([r * jnp.cos(u2), r * jnp.sin(u2)], -1).reshape(shape)


def g_bits_only(key, k, shape):
    kd = _threefry_fold_in(_kd(key), k)
    c = _counts(shape)
    b1, b2 = _threefry2x32(kd[0], kd[1], jnp.zeros_like(c), c)
    return (b1 ^ b2).astype(F32) * F32(2.0**-32)


GENERATORS = {
    # name: (generator, PRNG implementation, normals?)
    "jr.normal[threefry2x32]": (g_jr, "threefry2x32", True),
    "jr.normal[rbg]": (g_jr, "rbg", True),
    "jr.normal[unsafe_rbg]": (g_jr, "unsafe_rbg", True),
    "sleepjax fused threefry": (g_fused, "threefry2x32", True),
    "threefry, 2 normals/hash": (g_two_per_hash, "threefry2x32", True),
    "16-bit table, 2/word": (g_table16, "threefry2x32", True),
    "16-bit table, 1/word (fused)": (g_table16_one, "threefry2x32", True),
    "float16, cast": (g_f16, "threefry2x32", True),
    "bfloat16, cast": (g_bf16, "threefry2x32", True),
    "Box-Muller": (g_box_muller, "threefry2x32", True),
    "bits only (fused)": (g_bits_only, "threefry2x32", False),
}
BLOCK = {
    "block: jr.normal (k,N,N)": "jr",
    "block: fused (k,N,N)": "fused",
}


def _consume(n, steps, batch, draw, block_k=None):
    """Compiled batched loop `W <- 0.999 W + 0.01 z_k` (so z must be made).

    The update is elementwise (a reduction here would pull the generator into
    a slow reduction loop). With `block_k`, each draw is a (k, N, N) block
    consumed by an inner loop over its k slices."""

    def one(key):
        if block_k is None:

            def step(w, j):
                return w * F32(0.999) + F32(0.01) * draw(key, j, (n, n)), None

        else:

            def step(w, j):
                z = draw(key, j, (n, n))  # (k, N, N), one call

                def inner(i, w):
                    return w * F32(0.999) + F32(0.01) * z[i]

                return jax.lax.fori_loop(0, block_k, inner, w), None

        w, _ = jax.lax.scan(step, jnp.zeros((n, n), jnp.float32), jnp.arange(steps))
        return w

    return one


def make_timer(name, n, batch, steps, block_k):
    if name in BLOCK:
        kind = BLOCK[name]
        impl = "threefry2x32"

        def draw(key, j, shape):  # one call for k steps
            full = (block_k, *shape)
            if kind == "jr":
                return jr.normal(jr.fold_in(key, j), full, jnp.float32)
            return _threefry_normal(_threefry_fold_in(_kd(key), j), full, jnp.float32)

        loop_steps = steps // block_k
        block = block_k
    else:
        gen, impl, _ = GENERATORS[name]
        draw = gen
        loop_steps = steps
        block = None
    keys = jr.split(jr.key(0, impl=impl), batch)
    fn = jax.jit(jax.vmap(_consume(n, loop_steps, batch, draw, block)))
    compiled = fn.lower(keys).compile()
    return lambda: jax.block_until_ready(compiled(keys))


def measure_speed(names, n, batch, steps, repeats, block_k, log):
    timers = {}
    for name in names:
        timers[name] = make_timer(name, n, batch, steps, block_k)
        timers[name]()  # warm up
    times = {k: [] for k in timers}
    for _ in range(repeats):
        for k, f in timers.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["jr.normal[threefry2x32]"]
    out = {}
    for k, t in med.items():
        out[k] = {
            "seconds": t,
            "ns_per_normal": t / (batch * steps * n * n) * 1e9,
            "speed_vs_jr_threefry": base / t,
        }
        log(
            f"  {k:28s} {out[k]['ns_per_normal']:7.2f} ns/normal   "
            f"{out[k]['speed_vs_jr_threefry']:5.2f}x jr.normal[threefry2x32]"
        )
    return out


def measure_stats(name, n=256, steps=64):
    """Moments and lag-1 correlations of `steps` draws of (n, n)."""
    gen, impl, is_normal = GENERATORS[name]
    if not is_normal:
        return None
    key = jr.key(123, impl=impl)
    z = jax.jit(jax.vmap(lambda k: gen(key, k, (n, n))))(jnp.arange(steps))
    z = np.asarray(z, np.float64)
    m = z.size
    mean, var = z.mean(), z.var()
    c = z - mean
    kurt = (c**4).mean() / var**2 - 3.0
    lag_t = float(np.mean(c[1:] * c[:-1]) / var)
    lag_x = float(np.mean(c[:, :, 1:] * c[:, :, :-1]) / var)
    se = {
        "mean": 1 / np.sqrt(m),
        "var": np.sqrt(2 / m),
        "lag1_steps": 1 / np.sqrt(m),
        "lag1_entries": 1 / np.sqrt(m),
        "excess_kurtosis": np.sqrt(24 / m),
    }
    vals = {
        "mean": mean,
        "var": var - 1.0,
        "lag1_steps": lag_t,
        "lag1_entries": lag_x,
        "excess_kurtosis": kurt,
    }
    z_scores = {k: float(vals[k] / se[k]) for k in vals}
    equal = all(
        abs(z_scores[k]) < 4 for k in ("mean", "var", "lag1_steps", "lag1_entries")
    )
    return {
        "draws": int(m),
        "mean": float(mean),
        "var": float(var),
        "lag1_steps": lag_t,
        "lag1_entries": lag_x,
        "excess_kurtosis": float(kurt),
        "max_abs": float(np.abs(z).max()),
        "z_scores": z_scores,
        "equal_statistics": bool(equal),
        "normal_tails": bool(abs(z_scores["excess_kurtosis"]) < 4),
    }


def check_identity() -> bool:
    """The fused threefry equals jax.random.normal bit for bit (typed and raw
    keys, vmapped, several shapes)."""
    ok = True
    for key in (jr.key(0), jr.key(2**31 - 1), jr.PRNGKey(7)):
        keys = jr.split(key, 3)
        for shape in ((5,), (64, 64), (3, 128)):
            a = jax.vmap(lambda kk, s=shape: g_jr(kk, 11, s))(keys)
            b = jax.jit(jax.vmap(lambda kk, s=shape: g_fused(kk, 11, s)))(keys)
            ok &= bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return ok


def simulate_per_impl(n, batch, steps, repeats, log):
    """Full `simulate` of the throughput workload with each PRNG implementation."""
    from benchmarks.throughput import sleepjax_runner

    runs = {
        impl: sleepjax_runner(n, batch, steps, seed=0, impl=impl)[0]
        for impl in ("threefry2x32", "rbg", "unsafe_rbg")
    }
    for f in runs.values():
        f()
    times = {k: [] for k in runs}
    for _ in range(repeats):
        for k, f in runs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {}
    for k, t in med.items():
        out[k] = {
            "net_steps_per_s": batch * steps / t,
            "speed_vs_threefry": med["threefry2x32"] / t,
        }
        log(
            f"  simulate, {k:13s} {out[k]['net_steps_per_s']:9.0f} net-steps/s   "
            f"{out[k]['speed_vs_threefry']:5.2f}x threefry2x32"
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--block-k", type=int, default=10)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    steps = args.steps or (20 if args.quick else 60)
    repeats = args.repeats or (5 if args.quick else 9)
    log = lambda s: print(s, flush=True)  # noqa: E731
    dev = jax.devices()[0]
    log(
        f"PRNG benchmark: N = {args.n}, B = {args.batch}, {steps} steps, "
        f"{repeats} repeats (median), jax {jax.__version__}, {dev.platform} "
        f"({dev.device_kind}), {time.strftime('%Y-%m-%d %H:%M')}"
    )
    identical = check_identity()
    log(f"fused threefry == jax.random.normal bit for bit: {identical}")
    log("speed (interleaved repeats, same process):")
    names = list(GENERATORS) + list(BLOCK)
    speed = measure_speed(names, args.n, args.batch, steps, repeats, args.block_k, log)
    log("statistics (4.2e6 draws; 'equal' = mean, var, lag-1 within 4 SE of N(0,1)):")
    stats = {}
    for name in GENERATORS:
        st = measure_stats(name, n=128 if args.quick else 256)
        if st is None:
            continue
        stats[name] = st
        zs = st["z_scores"]
        log(
            f"  {name:28s} mean {st['mean']:+.5f} var {st['var']:.5f} "
            f"lag1 {st['lag1_steps']:+.5f}/{st['lag1_entries']:+.5f} "
            f"kurt {st['excess_kurtosis']:+.4f} (z {zs['excess_kurtosis']:+5.1f}) "
            f"max|z| {st['max_abs']:.2f}  equal: {st['equal_statistics']}"
        )
    log("simulate (default Euler, weight noise) per PRNG implementation:")
    sim = simulate_per_impl(
        args.n, args.batch, 50 if args.quick else 100, 3 if args.quick else 5, log
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "meta": {
                        "n": args.n,
                        "batch": args.batch,
                        "steps": steps,
                        "repeats": repeats,
                        "block_k": args.block_k,
                        "jax": jax.__version__,
                        "device": f"{dev.platform} {dev.device_kind}",
                        "date": time.strftime("%Y-%m-%d"),
                    },
                    "bit_identical": identical,
                    "speed": speed,
                    "stats": stats,
                    "simulate": sim,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
