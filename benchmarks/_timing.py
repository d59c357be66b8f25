"""Small timing and memory utilities for the benchmarks.

- :func:`time_call`: median wall time of a call, blocking on JAX results.
- :func:`peak_rss_mb`: peak resident set size of this process so far.
- :func:`compiled_memory`: XLA's static memory estimate of a compiled
  function (argument + output + temporary bytes), where the backend has one.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

__all__ = [
    "MemoryEstimate",
    "compiled_memory",
    "jit_memory",
    "memory_curve",
    "interleaved",
    "peak_rss_mb",
    "time_call",
]


def time_call(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls.

    ``warmup`` calls are made first and not timed (compilation, caches). Each
    call's result is passed to ``jax.block_until_ready`` inside the timed
    region, so asynchronous dispatch is not mistaken for speed; non-JAX
    results pass through unchanged.
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    ``ru_maxrss`` is in KiB on Linux and in bytes on macOS. It never
    decreases, so to attribute memory to one workload run each in its own
    process.
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1.0 if sys.platform == "darwin" else 1024.0
    return rss * scale / 2**20


@dataclass(frozen=True)
class MemoryEstimate:
    """XLA's compile-time memory estimate, in bytes.

    ``total = argument + output + temp - alias`` (aliased outputs reuse
    argument buffers). Generated code is reported separately and not included.
    """

    argument: int
    output: int
    temp: int
    alias: int
    generated_code: int

    @property
    def total(self) -> int:
        return self.argument + self.output + self.temp - self.alias

    @property
    def total_mb(self) -> float:
        return self.total / 2**20


def compiled_memory(compiled: Any) -> MemoryEstimate | None:
    """Memory estimate of a ``jax.stages.Compiled``, or ``None`` if unavailable.

    Uses ``compiled.memory_analysis()``; some backends/versions return
    ``None`` or raise, in which case ``None`` is returned.
    """
    try:
        m = compiled.memory_analysis()
    except Exception:  # backend without memory analysis
        return None
    if m is None:
        return None
    if isinstance(m, list | tuple):  # older JAX: one entry per device
        if not m:
            return None
        m = m[0]

    def get(name: str) -> int:
        return int(getattr(m, name, 0) or 0)

    return MemoryEstimate(
        argument=get("argument_size_in_bytes"),
        output=get("output_size_in_bytes"),
        temp=get("temp_size_in_bytes"),
        alias=get("alias_size_in_bytes"),
        generated_code=get("generated_code_size_in_bytes"),
    )


def jit_memory(
    fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> MemoryEstimate | None:
    """Memory estimate of ``jax.jit(fn)(*args, **kwargs)`` without running it.

    Equivalent to ``compiled_memory(jax.jit(fn).lower(*args, **kwargs)
    .compile())``; ``args`` may be arrays or ``jax.ShapeDtypeStruct``.
    """
    return compiled_memory(jax.jit(fn).lower(*args, **kwargs).compile())


def memory_curve(label: str, mem: dict[int, int], log) -> dict:
    """Fit memory ∝ steps^p to `{steps: bytes}`, log one line and return the
    record (bytes per step count, the exponent over all points and over the
    last two: sublinear growth is p < 1)."""
    if len(mem) >= 2:
        xs = np.log(list(mem))
        ys = np.log(list(mem.values()))
        p = float(np.polyfit(xs, ys, 1)[0])
        p_tail = float(np.polyfit(xs[-2:], ys[-2:], 1)[0])
    else:
        p = p_tail = float("nan")
    log(
        f"  {label:34s} "
        + "  ".join(f"{k:>6d} steps: {v / 2**20:8.2f} MB" for k, v in mem.items())
        + f"   p = {p:.2f} (last decade {p_tail:.2f})"
    )
    return {
        "bytes": {str(k): v for k, v in mem.items()},
        "exponent": p,
        "exponent_last_decade": p_tail,
    }


def interleaved(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Call every function once (warm-up), then `repeats` rounds calling each
    in turn, so that all see the same machine load. Returns per-key lists of
    wall times and of CPU times (`process_time`, all threads), in seconds."""
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    return times, cpu
