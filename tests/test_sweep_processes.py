"""Sweeps in other processes: 4 fake CPU devices (bitwise identical to one
device) and `kill -9` in the middle of a sweep, then resume (identical to an
uninterrupted run, no chunk lost or computed twice)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sleepjax import config
from sleepjax.sweep import ResultStore, sweep

ROOT = Path(__file__).resolve().parents[1]

ENV_TOML = """
[model]
n = 8
[protocol]
name = "erosion"
t_insert = 20.0
t_end = 40.0
save_every = 10.0
[run]
chunk_size = 7
[sweep]
seeds = 3
grid = { "model.eta" = [0.01, 1e7], "model.beta" = [0.05, 0.2] }
"""

# 40 chunks of 4 networks: the sweep is still running when its first chunk
# is reported, so the kill lands in the middle (often inside a chunk write)
CHUNKS = 40
RESUME_TOML = (
    ENV_TOML.replace("chunk_size = 7", "chunk_size = 4")
    .replace("seeds = 3", f"seeds = {CHUNKS}")
    .replace("1e7", "0.02")
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Environment for child processes: a shared persistent compilation cache
    (a resumed run reuses the first run's compilation). EQX_ON_ERROR=nan drops
    the host callbacks of diffrax's argument checks, which would stop XLA
    from caching the program."""
    cache = tmp_path_factory.mktemp("jax_cache")
    e = dict(os.environ)
    e.update(
        EQX_ON_ERROR="nan",
        # more XLA CPU pool threads than devices (see sleepjax.sweep._run)
        NPROC="5",
        JAX_COMPILATION_CACHE_DIR=str(cache),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        PYTHONPATH=str(ROOT) + os.pathsep + e.get("PYTHONPATH", ""),
    )
    e.pop("XLA_FLAGS", None)
    return e


def _read_all(path: Path) -> dict[str, np.ndarray]:
    store = ResultStore.open(path)
    names = [*store.variables, "status", *store.coord_names]
    return {k: store.read(k) for k in names}


def _same_bits(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].tobytes() == b[k].tobytes(), k


@pytest.mark.slow  # a third compilation, in a child process (~20 s on 2 cores);
# CI: tests/test_iterate.py::test_four_devices_bitwise_identical_to_one (the
# same sweep over 4 fake CPU devices, bitwise against one, with a toy model)
def test_four_devices_bitwise_identical_to_one(tmp_path, env):
    cfg_path = tmp_path / "cfg.toml"
    cfg_path.write_text(ENV_TOML)
    script = textwrap.dedent(
        f"""
        import os
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
        import jax
        from sleepjax import config
        from sleepjax.sweep import sweep
        assert len(jax.local_devices()) == 4
        sweep(config.load({str(cfg_path)!r}), {str(tmp_path / "four")!r}, quiet=True)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "on each of 4 cpu device(s)" in run.stderr
    four = _read_all(tmp_path / "four" / "results.zarr")
    assert (
        ResultStore.open(tmp_path / "four" / "results.zarr")
        .attrs["device"]
        .startswith("cpu x4")
    )

    one = sweep(config.load(cfg_path), tmp_path / "one", quiet=True, devices=1)
    assert one.status.tolist().count(2) == 6  # the eta = 1e7 networks diverge
    _same_bits(_read_all(one.path), four)


def _cmd(cfg: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sleepjax.sweep",
        str(cfg),
        "--out",
        str(out),
        "--quiet",
    ]


def test_kill_9_mid_sweep_then_resume(tmp_path, env):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(RESUME_TOML)
    out = tmp_path / "killed"
    store_path = out / "results.zarr"

    # 1. start, kill -9 as soon as the first chunk is reported written
    proc = subprocess.Popen(
        _cmd(cfg, out),
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        for line in proc.stderr:
            if re.match(rf"\[sweep\] chunk \d+/{CHUNKS} done", line):
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "no chunk written in time"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    store = ResultStore.open(store_path)
    done = store.done_chunks()
    assert not store.complete
    assert 1 <= len(done) < store.n_chunks, done
    status = store.read("status")
    assert set(status.tolist()) <= {-1, 0}

    # 2. the same command again: only the missing chunks are computed
    rerun = subprocess.run(
        _cmd(cfg, out), env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"resuming: {len(done)} of {CHUNKS} chunks done" in rerun.stderr
    computed = [
        int(m) - 1 for m in re.findall(rf"chunk (\d+)/{CHUNKS} done", rerun.stderr)
    ]
    assert sorted(computed) == sorted(set(range(CHUNKS)) - set(done))
    store = ResultStore.open(store_path)
    assert store.complete and store.pending_chunks() == []
    assert len(store.attrs["resumed"]) == 1

    # 3. identical to an uninterrupted run (here, in this process)
    ref = sweep(config.load(cfg), None, quiet=True)
    resumed = _read_all(store_path)
    assert np.all(resumed["status"] == 0)
    for k, v in resumed.items():
        assert v.tobytes() == np.asarray(ref.read(k)).tobytes(), k


@pytest.mark.slow
def test_two_processes_with_jax_distributed(tmp_path, env):
    """Two `jax.distributed` processes share the chunks of one store; the
    result equals a single-process run (slow: two compilations)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(ENV_TOML)
    script = textwrap.dedent(
        f"""
        import sys
        import jax
        jax.distributed.initialize(
            coordinator_address="127.0.0.1:{port}", num_processes=2,
            process_id=int(sys.argv[1]),
        )
        from sleepjax import config
        from sleepjax.sweep import sweep
        sweep(config.load({str(cfg)!r}), {str(tmp_path / "multi")!r}, quiet=True)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    done = [re.findall(r"chunk (\d+)/2 done", log) for log in logs]
    assert sorted(done[0] + done[1]) == ["1", "2"] and done[0] and done[1]
    store = ResultStore.open(tmp_path / "multi" / "results.zarr")
    assert store.complete
    one = sweep(config.load(cfg), None, quiet=True)
    for k in [*store.variables, "status"]:
        assert store.read(k).tobytes() == np.asarray(one.read(k)).tobytes(), k
