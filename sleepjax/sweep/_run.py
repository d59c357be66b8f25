"""Run a sweep: compile per group, batch, shard, store chunk by chunk, resume.

How the work is cut (see docs/sweep.md):

- a **call** integrates `batch` networks per device, vmapped, on every local
  device at once (`jax.shard_map` over a one-axis `Mesh`, inputs placed with
  `NamedSharding`); each group of networks with the same static structure has
  one compiled function of that fixed shape, reused for every call;
- a **chunk** is a run of consecutive networks written to the store at once
  (the unit of resuming); it is made of as many calls as it needs, the last
  one padded by repeating a real network (padding outputs are dropped).

Every device always runs the same program on `batch` networks, so a network's
result does not depend on the chunk size or on the number of devices: XLA may
reorder floating-point reductions for a different vmapped batch size, but the
batch size per device is fixed. Each network's key is `fold_in(root, i)` for
its global index `i` (as `sleepjax.network_keys`), never its place in a call.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._simulate import NONFINITE, OK
from ..config import ConfigError, RunConfig
from ._plan import Group, SweepPlan, validate_sweep
from ._store import (
    ResultStore,
    StoreConfigMismatch,
    VariableSpec,
    _hash_json,
    _is_store_dir,
)
from ._summary import final_values, format_summary, summarize, summary_variables

STORE_NAME = "results.zarr"
#: networks integrated together per device in one call, by platform
DEFAULT_BATCH = {"cpu": 8}
DEFAULT_BATCH_ACCELERATOR = 512
#: the automatic chunk size aims at about this many chunks (resume granularity)
TARGET_CHUNKS = 64
_AXIS = "network"
#: compiled calls, reused by later sweeps of the same structure in this process
_COMPILED: dict[str, tuple[Any, int]] = {}
_COMPILED_MAX = 16


@dataclasses.dataclass(eq=False)
class SweepResult:
    """What `sweep` returns.

    **Fields:**

    - `plan`: the `SweepPlan` (per-network parameter values, seeds, groups).
    - `path`: the results store (`<out>/results.zarr`), or `None` in memory.
    - `status`: int8 per network: 0 ok, 1 solver failure, 2 non-finite.
    - `time`: the save times.
    - `summary`: the summary (also stored in the store's `summary` attribute).
    - `data`: `{observable: array (network, time, ...)}` when run in memory
      (`out=None`); `None` when written to a store (read it with `read`).
    - `wall_s`: wall-clock seconds of this call.
    """

    plan: SweepPlan
    path: Path | None
    status: np.ndarray
    time: np.ndarray
    summary: dict[str, Any]
    data: dict[str, np.ndarray] | None
    wall_s: float
    dims: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @property
    def store(self) -> ResultStore | None:
        """The results store opened read-only (`None` for an in-memory sweep)."""
        return None if self.path is None else ResultStore.open(self.path)

    @property
    def n_failed(self) -> int:
        return int(np.sum(self.status != 0))

    def read(self, name: str) -> np.ndarray:
        """One observable, coordinate or `status` as a NumPy array."""
        if self.path is not None:
            return self.store.read(name)
        if name in self.data:
            return self.data[name]
        if name == "status":
            return self.status
        if name == "time":
            return self.time
        coords = self.plan.coords()
        if name in coords:
            return coords[name]
        raise KeyError(f"no variable {name!r}; have {sorted(self.data)}")

    def to_xarray(self):
        """The results as an `xarray.Dataset` (needs xarray)."""
        if self.path is not None:
            return self.store.to_xarray()
        import xarray as xr

        dims = self.dims
        coords = {"network": np.arange(self.plan.n_networks), "time": self.time}
        coords.update({k: ("network", v) for k, v in self.plan.coords().items()})
        data = {k: (("network", *dims[k]), v) for k, v in self.data.items()}
        data["status"] = ("network", self.status)
        return xr.Dataset(data, coords=coords)

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in memory"
        return (
            f"SweepResult({self.plan.n_networks} networks, {self.n_failed} failed, "
            f"{where})"
        )


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
    """Mark non-finite outputs as status 2 and NaN-mask failed networks."""
    finite = jnp.array(True)
    for y in jtu.tree_leaves(ys):
        if jnp.issubdtype(y.dtype, jnp.inexact):
            finite = finite & jnp.all(jnp.isfinite(y))
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
    def _one(self, group: Group):
        root, solver = self.root, self.solver

        def one(numeric: dict, index):
            key = jr.fold_in(root, index)
            k_init, k_noise = jr.split(key)
            exp = group.experiment(numeric, k_init)
            sim = exp.run(k_noise, solver=solver)
            return _finish(sim.ys, sim.status)

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
        """Output shapes of one network and its save times (tracing only)."""
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
        return ys, save_ts, exp.observe

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
                run.memory_budget_mb,
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
        batch = self.plan.batch or DEFAULT_BATCH.get(
            self.platform, DEFAULT_BATCH_ACCELERATOR
        )
        spec = P(_AXIS)
        fn = jax.jit(
            jax.shard_map(
                jax.vmap(self._one(group)),
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
            if need is None or need <= self.budget or pinned or batch == 1:
                break
            batch = max(1, batch // 2)  # deterministic: depends on config only
        if key is None:
            self._local[gi] = (compiled, batch)
            return compiled, batch
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = (compiled, batch)
        return compiled, batch

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
        key_index = plan.key_index
        groups = plan.group[idx]
        for gi in dict.fromkeys(groups.tolist()):
            sel = idx[groups == gi]
            fn, batch = self.compiled(gi)
            size = batch * len(self.devices)
            for start in range(0, len(sel), size):
                part = sel[start : start + size]
                pad = np.concatenate([part, np.full(size - len(part), part[-1])])
                numeric = {
                    p: jax.device_put(
                        plan.values[p][pad].astype(self.dtype), self.sharding
                    )
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


# ---------------------------------------------------------------- the API
def sweep_config(
    cfg: RunConfig,
    out: str | Path | None,
    *,
    overwrite: bool = False,
    quiet: bool = False,
    devices=None,
) -> SweepResult:
    """Run every network of `cfg`'s sweep and store the results (the TOML
    path of `sleepjax.sweep.sweep`).

    **Arguments:**

    - `cfg`: a `RunConfig` (`sleepjax.config.load`); its `[sweep]` section (or
      just `run.seeds` seeds without one) says which networks to run.
    - `out`: an output folder: results go to `out/results.zarr` (a zarr v3
      store that `xarray.open_zarr` opens), chunk by chunk. Re-running the same
      config with the same `out` resumes: only missing chunks are computed.
      `None`: keep the results in memory (`SweepResult.data`).
    - `overwrite`: replace a store made for a different config (otherwise
      `StoreConfigMismatch`) or a finished one (otherwise it is reused).
    - `quiet`: no progress bar; one log line per chunk (for log files).
    - `devices`: the local devices to shard over: `None` (all), a count, or a
      list of `jax.Device`.

    **Returns:** a `SweepResult`.
    """
    return run_plan(
        validate_sweep(cfg), out, overwrite=overwrite, quiet=quiet, devices=devices
    )


def run_plan(
    plan: SweepPlan, out, *, overwrite=False, quiet=False, devices=None
) -> SweepResult:
    """Run a validated `SweepPlan` (from a config or from Python)."""
    t_start = time.perf_counter()
    devs = _safe_devices(_devices(devices))
    with jax.enable_x64(bool(plan.run.float64)):
        result = _sweep(plan, out, overwrite=overwrite, quiet=quiet, devices=devs)
    result.wall_s = time.perf_counter() - t_start
    return result


def _sweep(plan: SweepPlan, out, *, overwrite, quiet, devices) -> SweepResult:
    runner = _Runner(plan, devices)

    # shapes of every group's outputs; they must agree (one store)
    shapes, save_ts = None, None
    for g in plan.groups:
        ys, ts, observe = runner.shapes(g)
        sig = {k: (v.shape, str(v.dtype)) for k, v in ys.items()}
        if shapes is None:
            shapes, save_ts, first, observe0 = ys, ts, (g, sig), observe
        elif sig != first[1] or not np.array_equal(ts, save_ts):
            raise ConfigError(
                f"[sweep] the networks with {g.label()} save different outputs or "
                f"save times than those with {first[0].label()}; sweep structural "
                "parameters that keep the time grid (t_end, save_every) fixed."
            )
    dims = _variable_dims(observe0, {k: v.shape for k, v in shapes.items()})
    variables = {
        name: VariableSpec(dims[name], tuple(s.shape), np.dtype(s.dtype))
        for name, s in shapes.items()
    }
    coords = plan.coords()
    bytes_per_net = sum(
        int(np.prod(v.shape)) * v.dtype.itemsize for v in variables.values()
    )
    ndev = len(devices)
    default_batch = plan.batch or DEFAULT_BATCH.get(
        runner.platform, DEFAULT_BATCH_ACCELERATOR
    )

    store = None
    path = None
    config = plan.store_config
    chunk = plan.run.chunk_size or _auto_chunk_size(
        plan.n_networks, default_batch * ndev, bytes_per_net, runner.budget
    )
    pi, pc = jax.process_index(), jax.process_count()
    if out is not None:
        path = Path(out) / STORE_NAME
        if not overwrite and path.is_dir():
            try:
                old = ResultStore.open(path)
            except (ValueError, FileNotFoundError):
                old = None
            if old is not None and old.config_hash == _hash_json(config):
                chunk = old.chunk_size  # resume with the chunking on disk
        kw = dict(
            config=config,
            n_networks=plan.n_networks,
            chunk_size=min(chunk, plan.n_networks),
            coords=coords,
            time=save_ts,
            variables=variables,
            device=_device_text(devices),
        )
        if pc > 1 and pi != 0:
            store = _wait_for_store(path, kw)
        else:
            try:
                if overwrite:
                    store = ResultStore.create(path, overwrite=True, **kw)
                else:
                    store = ResultStore.open_or_create(path, **kw)
            except StoreConfigMismatch as e:
                raise StoreConfigMismatch(
                    f"{e} (from the command line: add --overwrite to replace it)"
                ) from None
        chunk = store.chunk_size
        n_chunks = store.n_chunks
        pending = store.pending_chunks()
        slices = {i: store.chunk_slice(i) for i in range(n_chunks)}
    else:
        chunk = min(chunk, plan.n_networks)
        n_chunks = -(-plan.n_networks // chunk)
        pending = list(range(n_chunks))
        slices = {
            i: slice(i * chunk, min((i + 1) * chunk, plan.n_networks))
            for i in range(n_chunks)
        }
        memory = {
            k: np.full((plan.n_networks, *v.shape), v.default_fill, v.dtype)
            for k, v in variables.items()
        }
        memory_status = np.full(plan.n_networks, -1, np.int8)
    # several processes (jax.distributed) share the chunks of one store
    mine = [i for i in pending if i % pc == pi] if out is not None else pending

    done_nets = plan.n_networks - sum(slices[i].stop - slices[i].start for i in pending)
    todo = sum(slices[i].stop - slices[i].start for i in mine)
    head = f"{plan.describe()}; chunks of {chunk}"
    if out is not None and len(pending) < n_chunks:
        head += f"; resuming: {n_chunks - len(pending)} of {n_chunks} chunks done"
    runner._say(head)
    if mine:
        groups = np.concatenate([plan.group[slices[i]] for i in mine])
        runner.compile_all(list(dict.fromkeys(groups.tolist())))
    if not quiet:
        from tqdm.auto import tqdm

        runner._bar = tqdm(
            total=plan.n_networks,
            initial=done_nets,
            unit="net",
            desc="sweep",
            file=sys.stderr,
            dynamic_ncols=True,
            smoothing=0.05,
        )
        runner._bar.set_postfix_str(f"chunks {n_chunks - len(pending)}/{n_chunks}")

    t0 = time.perf_counter()
    n_done_here = 0
    n_failed_here = 0
    chunks_done = n_chunks - len(pending)
    try:
        for i in mine:
            sl = slices[i]

            def on_call(k):
                if runner._bar is not None:
                    runner._bar.update(k)

            data, status = runner.run_chunk(sl, variables, on_call)
            if store is not None:
                store.write_chunk(i, data, status)
            else:
                for k, v in data.items():
                    memory[k][sl] = v
                memory_status[sl] = status
            chunks_done += 1
            n_done_here += sl.stop - sl.start
            n_failed_here += int(np.sum(status != 0))
            rate = n_done_here / max(time.perf_counter() - t0, 1e-9)
            if runner._bar is not None:
                runner._bar.set_postfix_str(
                    f"chunks {chunks_done}/{n_chunks}, failed {n_failed_here}"
                )
            else:
                eta = (todo - n_done_here) / rate if rate > 0 else float("inf")
                _log(
                    f"chunk {i + 1}/{n_chunks} done ({chunks_done}/{n_chunks}); "
                    f"{done_nets + n_done_here}/{plan.n_networks} networks, "
                    f"{n_failed_here} failed; {rate:.3g} networks/s, ETA {_hms(eta)}"
                )
    finally:
        if runner._bar is not None:
            runner._bar.close()
            runner._bar = None

    # summary over every network (including chunks from earlier runs)
    if store is not None:
        if pc > 1 and pi != 0:
            return SweepResult(plan, path, store.read("status"), save_ts, {}, None, 0)
        _wait_all_done(store)
        status = store.read("status")
        names = summary_variables(variables)
        finals = {k: final_values(store.read(k)) for k in names}
    else:
        status = memory_status
        finals = {k: final_values(memory[k]) for k in summary_variables(variables)}
    summary = summarize(plan, status, finals, float(save_ts[-1]))
    summary["devices"] = _device_text(devices)
    if n_done_here:
        busy = time.perf_counter() - t0
        summary["networks_per_second"] = n_done_here / max(busy, 1e-9)
        summary["compile_seconds"] = runner.compile_s
    text = format_summary(summary)
    if store is not None:
        store.finalize(summary)
        (path.parent / "sweep_summary.txt").write_text(text + "\n")
    print(text, flush=True)
    return SweepResult(
        plan=plan,
        path=path,
        status=np.asarray(status),
        time=save_ts,
        summary=summary,
        data=None if store is not None else memory,
        wall_s=0.0,
        dims={k: v.dims for k, v in variables.items()},
    )


def _wait_for_store(path: Path, kw: dict, timeout: float = 600.0) -> ResultStore:
    """Other processes of a multi-host sweep: wait for process 0's store and
    open it with its chunking."""
    t0 = time.perf_counter()
    while not _is_store_dir(path):
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"no results store appeared at {path}")
        time.sleep(2.0)
    kw = {**kw, "chunk_size": ResultStore.open(path).chunk_size}
    return ResultStore.open_or_create(path, **kw)


def _wait_all_done(store: ResultStore, poll: float = 5.0) -> None:
    """Multi-host: process 0 waits for the other processes' chunks."""
    if jax.process_count() == 1:
        return
    while store.pending_chunks():
        time.sleep(poll)
