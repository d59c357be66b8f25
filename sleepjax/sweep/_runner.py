"""The runner of a sweep: the devices, one compiled call per group of
networks, and a chunk as a sequence of calls (see `_run.py` for how the work
is cut and why results do not depend on the chunking or the devices)."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._simulate import NONFINITE, OK
from .._snapshots import StateOutputs
from ..config import ConfigError
from ._plan import Group, SweepPlan

#: networks integrated together per device in one call, by platform
DEFAULT_BATCH = {"cpu": 8}
DEFAULT_BATCH_ACCELERATOR = 512
#: the automatic chunk size aims at about this many chunks (resume granularity)
TARGET_CHUNKS = 64
_AXIS = "network"
#: compiled calls, reused by later sweeps of the same structure in this process
_COMPILED: dict[str, tuple[Any, int]] = {}
_COMPILED_MAX = 64


# ------------------------------------------------------------------ helpers
def _devices(devices) -> list:
    local = jax.local_devices()
    if devices is None:
        return list(local)
    if isinstance(devices, int) and not isinstance(devices, bool):
        if not 1 <= devices <= len(local):
            raise ValueError(
                f"devices={devices}: this process has {len(local)} local device(s)."
            )
        return list(local[:devices])
    devices = list(devices)
    if not devices:
        raise ValueError("devices must not be empty.")
    return devices


def _cpu_pool_threads() -> int:
    """Threads of XLA's CPU thread pool (as the CPU client sizes it)."""
    for var in ("PJRT_NPROC", "NPROC"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def _safe_devices(devices: list) -> list:
    """On a CPU host split into several XLA devices, every device runs its
    program on a thread of one shared pool, and jaxlib's batched LAPACK
    kernels (eig in the observables) wait for helper tasks on that same pool:
    with as many devices as threads, all threads can wait at once (deadlock).
    Use fewer devices then; results do not depend on the device count."""
    if len(devices) < 2 or devices[0].platform != "cpu":
        return devices
    threads = _cpu_pool_threads()
    if len(devices) < threads:
        return devices
    keep = max(1, threads - 1)
    _log(
        f"using {keep} of {len(devices)} CPU devices: XLA's CPU thread pool has "
        f"{threads} thread(s), and LAPACK calls can deadlock when every thread runs "
        f"a device. Set NPROC={len(devices) + 1} before starting Python to use all."
    )
    return devices[:keep]


def _variable_dims(observe, shapes: dict[str, tuple]) -> dict[str, tuple]:
    """Dimension names after `network` of each observable, from its shape
    `(time, *extra)` and the observables' own names for them."""
    out = {}
    for name, shape in shapes.items():
        extra = tuple(shape)[1:]
        if hasattr(observe, "dims"):
            names = tuple(observe.dims(name, len(extra)))
        else:
            names = tuple(f"{name}_dim{i}" for i in range(len(extra)))
        out[name] = ("time", *names)
    return out


def _finish(ys: dict, status):
    """Mark infinite outputs as status 2 and NaN-mask failed networks.

    A NaN output alone is not a failure: observables use NaN for "not defined
    here" (e.g. a memory before it is inserted); a diverging network shows in
    its final state (status 2 from the run) or as an infinite output."""
    finite = jnp.array(True)
    for y in jtu.tree_leaves(ys):
        if jnp.issubdtype(y.dtype, jnp.inexact):
            finite = finite & ~jnp.any(jnp.isinf(y))
    status = jnp.where((status == OK) & ~finite, NONFINITE, status).astype(jnp.int8)

    def mask(y):
        if jnp.issubdtype(y.dtype, jnp.inexact):
            return jnp.where(status == OK, y, jnp.nan)
        return y

    return jtu.tree_map(mask, ys), status


def _log(msg: str) -> None:
    print(f"[sweep] {msg}", file=sys.stderr, flush=True)


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


#: in-call progress reports only for sweeps of at most this many calls
IN_CALL_PROGRESS_CALLS = 4


# ------------------------------------------------------------------- runner
class _Runner:
    def __init__(self, plan: SweepPlan, devices: list):
        self.plan = plan
        self.run = plan.run
        self.devices = devices
        self.mesh = Mesh(np.array(devices), (_AXIS,))
        self.sharding = NamedSharding(self.mesh, P(_AXIS))
        self.platform = devices[0].platform
        self.dtype = np.float64 if self.run.float64 else np.float32
        self.root = jr.key(self.run.seed, impl=self.run.prng)
        self.solver = self.run.solver_object()
        self.budget = self.run.memory_budget_mb * 2**20
        self.compile_s = 0.0
        self._local: dict[int, tuple[Any, int]] = {}

    # ------------------------------------------------ one network, one group
    def _one(self, group: Group, progress: bool = False):
        root, solver = self.root, self.solver

        run = self.run

        def one(numeric: dict, index):
            key = jr.fold_in(root, index)
            k_init, k_noise = jr.split(key)
            exp = group.experiment(numeric, k_init)
            outs = StateOutputs.of(run, exp)
            snaps = None if outs is None else outs.snapshots
            # see `in_call_progress`
            sim = exp.run(
                k_noise,
                solver=solver,
                snapshots=snaps,
                progress=progress and exp.discrete,
            )
            ys, status = _finish(sim.ys, sim.status)
            if outs is not None:  # the state as it was (status tells failures)
                ys = {**ys, **outs.values(sim)}
            return ys, status

        return one

    def _abstract_args(self, size: int):
        """Shapes of one call's inputs: numeric values and network indices."""
        sh = self.sharding
        numeric = {
            p: jax.ShapeDtypeStruct((size,), self.dtype, sharding=sh)
            for p in self.plan.numeric
        }
        return numeric, jax.ShapeDtypeStruct((size,), np.uint32, sharding=sh)

    def shapes(self, group: Group):
        """Output shapes of one network, its save times, its observables and
        what it saves of its state (`StateOutputs` or None) (tracing only)."""
        one = self._one(group)
        numeric = {p: jax.ShapeDtypeStruct((), self.dtype) for p in self.plan.numeric}
        index = jax.ShapeDtypeStruct((), np.uint32)
        try:
            exp = jax.eval_shape(
                lambda: group.experiment(
                    {p: jnp.zeros((), self.dtype) for p in self.plan.numeric},
                    jr.key(0, impl=self.run.prng),
                )
            )
            save_ts = np.asarray(exp.save_ts, dtype=np.float64)
            ys, _ = jax.eval_shape(one, numeric, index)
        except (ValueError, TypeError) as e:
            raise ConfigError(
                f"[sweep] the networks with {group.label()} cannot be built: {e}"
            ) from None
        return ys, save_ts, exp.observe, StateOutputs.of(self.run, exp)

    def _cache_key(self, group: Group) -> str | None:
        # everything the compiled call depends on (not the chunking or [sweep])
        base = group.cache_key()
        if base is None:
            return None
        run = self.run
        return repr(
            (
                base,
                (run.seed, run.prng, run.solver, run.substeps, run.float64),
                (repr(run.snapshot_times), tuple(run.snapshot_leaves), run.save_final),
                run.memory_budget_mb,
                self.in_call_progress(self._first_batch()),
                self.plan.numeric,
                self.plan.batch,
                [(d.platform, d.id) for d in self.devices],
            )
        )

    def compiled(self, gi: int):
        """The compiled call of group `gi` and its per-device batch (cached)."""
        group = self.plan.groups[gi]
        if gi in self._local:
            return self._local[gi]
        key = self._cache_key(group)
        if key is not None and key in _COMPILED:
            return _COMPILED[key]
        pinned = self.plan.batch is not None
        batch = self._first_batch()
        spec = P(_AXIS)
        progress = self.in_call_progress(batch)
        fn = jax.jit(
            jax.shard_map(
                jax.vmap(self._one(group, progress)),
                mesh=self.mesh,
                in_specs=(spec, spec),
                out_specs=spec,
                check_vma=False,
            )
        )
        ndev = len(self.devices)
        while True:
            self._say(
                f"compiling {group.label()}: {batch} network(s) per call on each of "
                f"{ndev} {self.platform} device(s)"
            )
            t0 = time.perf_counter()
            compiled = fn.lower(*self._abstract_args(batch * ndev)).compile()
            need = _memory_bytes(compiled)
            dt = time.perf_counter() - t0
            self._say(
                f"compiled in {dt:.1f} s"
                + (f"; {need / 2**20:.3g} MiB per device" if need else "")
            )
            if need is None or need <= self.budget:
                break
            if pinned or batch == 1:
                raise ConfigError(
                    f"[sweep] the networks with {group.label()} need "
                    f"{need / 2**30:.3g} GiB per device for a call of {batch} "
                    f"network(s) (XLA's estimate), more than the memory budget "
                    f"[run] memory_budget_mb = {self.run.memory_budget_mb:g} MiB; "
                    "use smaller networks, a smaller [sweep] batch, or a larger "
                    "budget."
                )
            batch = max(1, batch // 2)  # deterministic: depends on config only
        if key is None:
            self._local[gi] = (compiled, batch)
            return compiled, batch
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = (compiled, batch)
        return compiled, batch

    def _first_batch(self) -> int:
        """Networks per call per device before any halving for memory."""
        return self.plan.batch or DEFAULT_BATCH.get(
            self.platform, DEFAULT_BATCH_ACCELERATOR
        )

    def in_call_progress(self, batch: int) -> bool:
        """Whether the calls report their progress from inside (discrete
        models only; `iterate(progress=True)`). Only when the whole sweep is
        at most `IN_CALL_PROGRESS_CALLS` calls: then the bar, which counts
        finished networks, would sit still for long, while with many calls it
        moves anyway and 21 host callbacks per call (~0.5 ms each on a CPU)
        would only cost time. Continuous solves never report from inside:
        diffrax's hook adds a branch to every solver step."""
        calls = -(-self.plan.n_networks // (batch * len(self.devices)))
        return calls <= IN_CALL_PROGRESS_CALLS

    def compile_all(self, groups: list[int]) -> None:
        """Compile the calls of `groups` up front (one after the other: in
        threads, XLA's compiles competed for the cores and took longer)."""
        t0 = time.perf_counter()
        for gi in groups:
            self.compiled(gi)
        self.compile_s = time.perf_counter() - t0

    def _say(self, msg: str) -> None:
        if self._bar is not None:
            self._bar.write(f"[sweep] {msg}", file=sys.stderr)
        else:
            _log(msg)

    def progress_listener(self, i: int, n_chunks: int, chunks_done: int):
        """A listener (`listen_progress`) for chunk `i`: the fraction of the
        running call done, on the bar (at most twice a second) or, without a
        bar, in the log (at most once a minute)."""
        last = [time.perf_counter()]

        def show(done: float) -> None:
            now = time.perf_counter()
            if self._bar is not None:
                if now - last[0] >= 0.5:
                    last[0] = now
                    self._bar.set_postfix_str(
                        f"chunks {chunks_done}/{n_chunks}, running call "
                        f"{100 * done:.0f} % done",
                        refresh=True,
                    )
            elif now - last[0] >= 60.0 and done < 1.0:
                last[0] = now
                _log(f"chunk {i + 1}/{n_chunks}: running call {100 * done:.0f} % done")

        return show

    # ------------------------------------------------------------- a chunk
    def run_chunk(self, sl: slice, variables: dict, on_call) -> tuple[dict, np.ndarray]:
        plan = self.plan
        idx = np.arange(sl.start, sl.stop)
        data = {
            name: np.empty((len(idx), *spec.shape), spec.dtype)
            for name, spec in variables.items()
        }
        status = np.empty(len(idx), np.int8)
        calls = []
        # this chunk's inputs only (never a table of every network)
        key_index = plan.key_index_at(idx)
        values = plan.values_at(idx, plan.numeric)
        groups = plan.group_at(idx)
        for gi in dict.fromkeys(groups.tolist()):
            sel = idx[groups == gi]
            fn, batch = self.compiled(gi)
            size = batch * len(self.devices)
            for start in range(0, len(sel), size):
                part = sel[start : start + size]
                pad = np.concatenate([part, np.full(size - len(part), part[-1])])
                pad = pad - sl.start  # positions in the chunk
                numeric = {
                    p: jax.device_put(values[p][pad].astype(self.dtype), self.sharding)
                    for p in plan.numeric
                }
                index = jax.device_put(key_index[pad], self.sharding)
                calls.append((part, fn(numeric, index)))  # asynchronous dispatch
        for part, (ys, st) in calls:
            pos = part - sl.start
            for name in data:
                data[name][pos] = np.asarray(ys[name])[: len(part)]
            status[pos] = np.asarray(st)[: len(part)]
            on_call(len(part))
        return data, status

    _bar = None


def _memory_bytes(compiled) -> int | None:
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if m is None:
        return None
    return int(m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes)


def _auto_chunk_size(n: int, call: int, bytes_per_network: int, budget: float) -> int:
    """About `TARGET_CHUNKS` chunks of whole calls, within the memory budget."""
    k = max(1, round(n / (call * TARGET_CHUNKS)))
    chunk = min(call * k, n)
    host_cap = max(1, int(budget / 4 / max(bytes_per_network, 1)))
    return max(1, min(chunk, host_cap))


def _device_text(devices) -> str:
    kinds = sorted({getattr(d, "device_kind", d.platform) for d in devices})
    return f"{devices[0].platform} x{len(devices)} ({', '.join(kinds)})"
