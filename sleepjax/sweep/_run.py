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
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .._progress import listen_progress
from .._snapshots import SNAPSHOT_TIME
from ..config import ConfigError, RunConfig
from ._chunks import ChunkSchedule, check_in_memory
from ._output import LOCK, OutputLock, check_folder
from ._plan import SweepPlan, validate_sweep
from ._runner import (
    DEFAULT_BATCH,
    DEFAULT_BATCH_ACCELERATOR,
    _auto_chunk_size,
    _device_text,
    _devices,
    _hms,
    _log,
    _Runner,
    _safe_devices,
    _variable_dims,
)
from ._store import (
    ResultStore,
    StoreConfigMismatch,
    VariableSpec,
    _hash_json,
    _is_store_dir,
    _jsonable,
)
from ._summary import (
    final_values,
    format_summary,
    summarize,
    summary_blocks,
    summary_variables,
)

STORE_NAME = "results.zarr"


@dataclasses.dataclass(eq=False)
class SweepResult:
    """What `sweep` returns.

    **Fields:**

    - `plan`: the `SweepPlan` (per-network parameter values, seeds, groups).
    - `path`: the results store (`<out>/results.zarr`), or `None` in memory.
    - `time`: the save times.
    - `summary`: the summary (also stored in the store's `summary` attribute;
      empty while the store is incomplete, e.g. after `max_chunks`).
    - `data`: `{observable: array (network, time, ...)}` when run in memory
      (`out=None`); `None` when written to a store (read it with `read`).
    - `wall_s`: wall-clock seconds of this call.
    - `memory_status`: the status of an in-memory sweep (`None` for a store).

    `status` (int8 per network: −1 pending, 0 ok, 1 solver failure,
    2 non-finite) comes from memory, or is read from the store when asked for.
    """

    plan: SweepPlan
    path: Path | None
    time: np.ndarray
    summary: dict[str, Any]
    data: dict[str, np.ndarray] | None
    wall_s: float
    dims: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    memory_status: np.ndarray | None = None

    @property
    def status(self) -> np.ndarray:
        """int8 per network (for a store: read from it, every network)."""
        if self.memory_status is not None:
            return self.memory_status
        return self.store.read("status")

    @property
    def store(self) -> ResultStore | None:
        """The results store opened read-only (`None` for an in-memory sweep)."""
        return None if self.path is None else ResultStore.open(self.path)

    @property
    def n_failed(self) -> int:
        """Networks with status 1 or 2 (counted chunk by chunk in a store)."""
        if "ok" in self.summary:
            return self.plan.n_networks - int(self.summary["ok"])
        if self.memory_status is not None:
            return int(np.sum(self.memory_status > 0))
        store = self.store  # only the done chunks can hold failures
        return sum(
            int(np.sum(store.read("status", chunk=int(i)) > 0))
            for i in store.done_chunk_indices()
        )

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


# ---------------------------------------------------------------- the API
def sweep_config(
    cfg: RunConfig,
    out: str | Path | None,
    *,
    overwrite: bool = False,
    quiet: bool = False,
    devices=None,
    max_chunks: int | None = None,
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
    - `max_chunks`: compute at most this many pending chunks, then return
      (the store stays incomplete, with an empty summary, until a later run
      computes the rest): a huge sweep in pieces. Needs `out`.

    **Returns:** a `SweepResult`.
    """
    return run_plan(
        validate_sweep(cfg),
        out,
        overwrite=overwrite,
        quiet=quiet,
        devices=devices,
        max_chunks=max_chunks,
    )


def run_plan(
    plan: SweepPlan,
    out,
    *,
    overwrite=False,
    quiet=False,
    devices=None,
    max_chunks: int | None = None,
) -> SweepResult:
    """Run a validated `SweepPlan` (from a config or from Python)."""
    if max_chunks is not None:
        if isinstance(max_chunks, bool) or not isinstance(max_chunks, int):
            raise TypeError(f"max_chunks must be an int, got {max_chunks!r}.")
        if max_chunks < 1:
            raise ValueError(f"max_chunks must be >= 1, got {max_chunks}.")
        if out is None:
            raise ValueError("max_chunks needs a results folder (out), not None.")
    t_start = time.perf_counter()
    devs = _safe_devices(_devices(devices))
    with jax.enable_x64(bool(plan.run.float64)):
        result = _sweep(
            plan,
            out,
            overwrite=overwrite,
            quiet=quiet,
            devices=devs,
            max_chunks=max_chunks,
        )
    result.wall_s = time.perf_counter() - t_start
    return result


def _sweep(
    plan: SweepPlan, out, *, overwrite, quiet, devices, max_chunks=None
) -> SweepResult:
    """Run `plan` into `out` holding its folder's lock (or in memory)."""
    if out is None:
        return _execute(
            plan, None, None, overwrite=overwrite, quiet=quiet, devices=devices
        )
    out = Path(out)
    check_folder(out, overwrite=overwrite)
    pc = jax.process_count()
    job = _job_id(plan) if pc > 1 else None
    if pc > 1 and jax.process_index() != 0:
        lock = _wait_for_lock(out, job)
    else:
        lock = OutputLock.acquire(out, job=job, say=_log)
    try:
        return _execute(
            plan,
            out,
            lock,
            overwrite=overwrite,
            quiet=quiet,
            devices=devices,
            max_chunks=max_chunks,
        )
    finally:
        lock.release()


def _job_id(plan: SweepPlan) -> str:
    """One id for the processes of one jax.distributed run: the coordinator,
    the process count and the sweep."""
    from jax._src import distributed

    coord = getattr(distributed.global_state, "coordinator_address", None)
    return f"{coord}|{jax.process_count()}|{_hash_json(plan.store_config)[:16]}"


def _wait_for_lock(out: Path, job: str, timeout: float = 600.0) -> OutputLock:
    """Processes other than 0 of a distributed run join process 0's lock."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if (out / LOCK).exists():
            lock = OutputLock.acquire(out, job=job)
            if not lock.owner:
                return lock
            lock.release()
        time.sleep(1.0)
    raise TimeoutError(f"process 0 did not lock {out} within {timeout:g} s")


def _execute(
    plan: SweepPlan, out, lock, *, overwrite, quiet, devices, max_chunks=None
) -> SweepResult:
    runner = _Runner(plan, devices)

    # shapes of every group's outputs; they must agree (one store)
    shapes, save_ts = None, None
    applies = {}
    for g in plan.groups:
        ys, ts, observe, state_outs = runner.shapes(g)
        state_vars = {} if state_outs is None else state_outs.variables(observe)
        ys = {k: v for k, v in ys.items() if k not in state_vars}
        applies[g.index] = {
            k: bool(observe.applies(k)) if hasattr(observe, "applies") else True
            for k in ys
        }
        sig = {k: (v.shape, str(v.dtype)) for k, v in ys.items()}
        sig["state"] = (state_outs, sorted(state_vars))
        if shapes is None:
            shapes, save_ts, first, observe0 = ys, ts, (g, sig), observe
            state0_outs, state0_vars = state_outs, state_vars
        elif sig != first[1] or not np.array_equal(ts, save_ts):
            raise ConfigError(
                f"[sweep] the networks with {g.label()} save different outputs or "
                f"save times than those with {first[0].label()}; sweep structural "
                "parameters that keep the time grid (t_end, save_every) fixed."
            )
    dims = _variable_dims(observe0, {k: v.shape for k, v in shapes.items()})
    headline = tuple(getattr(observe0, "headline", ()))
    variables = {
        name: VariableSpec(
            dims[name],
            tuple(s.shape),
            np.dtype(s.dtype),
            attrs=observe0.attrs(name) if hasattr(observe0, "attrs") else {},
        )
        for name, s in shapes.items()
    }
    observables = tuple(variables)
    for name, (vdims, attrs) in state0_vars.items():
        leaf = state0_outs.shapes[state0_outs.leaf_of(name)]
        n_snap = len(state0_outs.times or ())
        shape = (n_snap, *leaf[0]) if vdims[:1] == (SNAPSHOT_TIME,) else leaf[0]
        if name in variables:
            raise ConfigError(
                f"[run] the saved state variable {name!r} has the name of an "
                "observable; save other leaves."
            )
        variables[name] = VariableSpec(vdims, tuple(shape), np.dtype(leaf[1]), attrs)
    coords = plan.coord_source()  # computed block by block, never whole
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
    resuming = False
    if out is not None:
        path = Path(out) / STORE_NAME
        if not overwrite and path.is_dir():
            try:
                old = ResultStore.open(path)
            except (ValueError, FileNotFoundError):
                old = None
            if old is not None and old.config_hash == _hash_json(config):
                chunk = old.chunk_size  # resume with the chunking on disk
                resuming = True
        if not resuming and pi == 0:
            # compile first: a size that cannot fit fails before a store exists
            runner.compile_all(list(range(len(plan.groups))))
        kw = dict(
            config=config,
            n_networks=plan.n_networks,
            chunk_size=min(chunk, plan.n_networks),
            coords=coords,
            time=save_ts,
            variables=variables,
            device=_device_text(devices),
            attrs={
                "time_attrs": {
                    "long_name": "time",
                    "units": str(getattr(observe0, "time_units", "")),
                },
                "resolved": resolved_config(plan),
                "eigenvalue_marks": {
                    k: list(v)
                    for k, v in dict(getattr(observe0, "eigenvalue_marks", {})).items()
                    if set(v) <= set(variables)
                },
                "index_dims": sorted({d for v in variables.values() for d in v.dims}),
                "dim_coords": {}
                if state0_outs is None or state0_outs.times is None
                else {
                    SNAPSHOT_TIME: (
                        np.asarray(state0_outs.times),
                        {
                            "long_name": "snapshot time",
                            "units": str(getattr(observe0, "time_units", "")),
                        },
                    )
                },
            },
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
        # several processes (jax.distributed) share the chunks of one store
        chunks = ChunkSchedule(
            plan.n_networks, chunk, store.done_chunk_indices(), pi, pc
        )
    else:
        chunk = min(chunk, plan.n_networks)
        chunks = ChunkSchedule(plan.n_networks, chunk, np.empty(0, np.int64))
        check_in_memory(plan, bytes_per_net)
        memory = {
            k: np.full((plan.n_networks, *v.shape), v.default_fill, v.dtype)
            for k, v in variables.items()
        }
        memory_status = np.full(plan.n_networks, -1, np.int8)
    n_chunks = chunks.n_chunks
    done_nets = chunks.done_networks
    todo = chunks.mine_networks
    head = f"{plan.describe()}; chunks of {chunk}"
    if chunks.n_pending < n_chunks:
        head += f"; resuming: {n_chunks - chunks.n_pending} of {n_chunks} chunks done"
    runner._say(head)
    if chunks.n_mine:
        runner.compile_all(chunks.groups(plan))
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
        runner._bar.set_postfix_str(f"chunks {n_chunks - chunks.n_pending}/{n_chunks}")

    t0 = time.perf_counter()
    n_done_here = 0
    n_failed_here = 0
    chunks_done = n_chunks - chunks.n_pending
    try:
        for i in itertools.islice(chunks.mine(), max_chunks):
            sl = chunks.slice(i)

            def on_call(k):
                if runner._bar is not None:
                    runner._bar.update(k)

            with listen_progress(runner.progress_listener(i, n_chunks, chunks_done)):
                data, status = runner.run_chunk(sl, variables, on_call)
            if store is not None:
                lock.check()  # still this run's folder and store
                store.check_generation()
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
    names = summary_variables(observables, headline)
    dims = {k: v.dims for k, v in variables.items()}
    if store is not None:
        partial = max_chunks is not None and (
            len(store.done_chunk_indices()) < store.n_chunks
        )
        if partial or (pc > 1 and pi != 0):  # no summary (yet)
            return SweepResult(plan, path, save_ts, {}, None, 0.0, dims)
        _wait_all_done(store)
        per_net = max(
            [
                int(np.prod(variables[k].shape)) * variables[k].dtype.itemsize
                for k in names
            ],
            default=1,
        )
        blocks = summary_blocks(store, names, runner.budget / 4, per_net)
    else:
        finals = {k: final_values(memory[k]) for k in names}
        blocks = [(0, memory_status, finals)]
    summary = summarize(plan, blocks, float(save_ts[-1]), applies)
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
        time=save_ts,
        summary=summary,
        data=None if store is not None else memory,
        wall_s=0.0,
        dims=dims,
        memory_status=None if store is not None else memory_status,
    )


def resolved_config(plan: SweepPlan) -> dict[str, Any]:
    """Every setting the run uses, defaults included: the model's options and
    the parameters its protocol reads, the protocol's settings and `[run]`
    (swept values are the store's coordinates). For a Python sweep: the
    parameters' values."""
    import dataclasses as dc

    from .._spec import unused_parameters

    cfg = plan.config
    if cfg is None:
        return {"run": dc.asdict(plan.run)}
    spec = cfg.spec
    params = cfg.default_params()
    key = jax.random.key(0, impl=cfg.run.prng)
    unused = set(unused_parameters(lambda p: cfg.build(p, key), params))
    values = {
        k: float(f"{float(np.asarray(getattr(params, k))):.7g}")
        for k in spec.param_fields
        if k not in unused and np.ndim(getattr(params, k)) == 0
    }
    model = {"name": cfg.model, **dc.asdict(cfg.options), **values}
    proto = {"name": cfg.protocol, **cfg.protocol_spec.kwargs, **cfg.protocol_kwargs}
    units = {k: f.unit for k, f in spec.param_fields.items() if f.unit}
    return _jsonable(
        {"model": model, "protocol": proto, "run": dc.asdict(cfg.run), "units": units},
        "resolved",
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
    while len(store.done_chunk_indices()) < store.n_chunks:
        time.sleep(poll)
