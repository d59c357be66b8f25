"""Bad input is refused, never crashed on; output folders have one writer and
are never clobbered.

Each CLI case expects a non-zero exit, a message that names the key, no
traceback and nothing written. Then: the folder lock between processes,
stale locks, a store replaced under a running writer, leftovers of a killed
store creation, and random mutations of a valid config (hypothesis)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sleepjax import config
from sleepjax.cli import main
from sleepjax.sweep import ResultStore, StoreConfigMismatch, sweep, validate_sweep
from sleepjax.sweep._output import LOCK, OutputLock

ROOT = Path(__file__).resolve().parents[1]
ERO = '[model]\nn = 8\n[protocol]\nname = "erosion"\nt_insert = 20.0\nt_end = 40.0\n'
# The configs these tests run: the structure of tests/test_sweep.py's sweeps
# (save grid, swept eta and beta), so that all of them share one compiled call
# in a test session (the runner caches compiled calls by structure).
RUN = (
    ERO
    + "save_every = 10.0\n"
    + '[sweep]\ngrid = { "model.eta" = [0.01], "model.beta" = [0.1] }\n'
)

CASES = {
    "unknown key": ('[model]\nnn = 3\n[protocol]\nname = "erosion"\n', "'n'"),
    "unknown rule": (
        '[model]\nrule = "oja"\n[protocol]\nname = "erosion"\n',
        "unknown [model] rule",
    ),
    "negative dt": ('[model]\ndt = -0.1\n[protocol]\nname = "erosion"\n', "dt"),
    "zero horizon": (ERO.replace("t_end = 40.0", "t_end = 0.0"), "t_end"),
    "NaN": ('[model]\nbeta = nan\n[protocol]\nname = "erosion"\n', "beta"),
    "seed >= 2**32": (ERO + "[run]\nseed = 4294967296\n", "[run] seed"),
    # 10⁹ networks run chunk by chunk (tests/test_lazy_sweep.py); more than
    # 2³¹ − 1 would alias 32-bit network keys
    "more networks than keys": (ERO + "[sweep]\nseeds = 3000000000\n", "networks"),
    "too many steps": (
        '[model]\nn = 8\ndt = 1e-4\n[protocol]\nname = "erosion"\n'
        "t_insert = 20.0\nt_end = 1e6\n",
        "[model] dt = 0.0001",
    ),
    "tiny dt": (
        '[model]\nn = 8\ndt = 1e-50\n[protocol]\nname = "erosion"\n'
        "t_insert = 20.0\nt_end = 40.0\n",
        "dt = 1e-50",
    ),
    "huge n": (ERO.replace("n = 8", "n = 100000"), "[model] n = 100000"),
    # found by the mutation test: the save grid alone would need 8.7 GiB
    "a billion saves": (
        '[model]\nn = 8\n[protocol]\nname = "erosion"\nt_insert = 20.0\n'
        "t_end = 58281619299.0\n",
        "save times",
    ),
    "window after the run": (
        '[model]\nn = 16\n[protocol]\nname = "learning"\nwindow = [500.0, 600.0]\n'
        "t_end = 20.0\nsave_every = 5.0\n",
        "[protocol] window",
    ),
    "cue after the run": (
        '[model]\nn = 16\n[protocol]\nname = "limit_cycle"\nt_cue = 50.0\n'
        "t_end = 20.0\n",
        "[protocol] t_cue",
    ),
    "unused parameter": (ERO.replace("n = 8", "n = 8\ntau_y = 10.0"), "tau_y"),
    "unused parameter of another model": (
        '[model]\nname = "hopfield"\nbeta = 5.0\n[protocol]\nname = "retrieval"\n',
        "beta",
    ),
    "unknown model": ('[model]\nname = "susmann"\n[protocol]\nname = "x"\n', "susman"),
}


def _run(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_refused_cleanly(tmp_path, capsys, case):
    text, key = CASES[case]
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    rc, err = _run(["run", str(cfg), "--out", str(out), "--quiet"], capsys)
    assert rc == 2 and key in err, err
    assert not out.exists()


def test_unreadable_and_binary_configs(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    binary = tmp_path / "b.toml"
    binary.write_bytes(bytes(range(256)))
    rc, err = _run(["run", str(binary), "--out", str(out)], capsys)
    assert rc == 2 and "b.toml is not a TOML configuration" in err
    missing = tmp_path / "nope.toml"
    rc, err = _run(["run", str(missing), "--out", str(out)], capsys)
    assert rc == 2 and "not found" in err
    secret = tmp_path / "s.toml"
    secret.write_text(ERO)

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    rc, err = _run(["run", str(secret), "--out", str(out)], capsys)
    assert rc == 2 and "cannot read configuration" in err and "s.toml" in err
    assert not out.exists()


def test_output_folders_are_never_clobbered(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(ERO)
    rc, err = _run(["run", str(cfg), "--out", "", "--quiet"], capsys)
    assert rc == 2 and "--out must name an output folder" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    rc, err = _run(["run", str(cfg), "--out", str(mine), "--quiet"], capsys)
    assert rc == 2 and "not written by sleepjax" in err
    (mine / "figure.png").write_text("my figure")
    rc, err = _run(["run", str(cfg), "--out", str(mine), "--overwrite"], capsys)
    assert rc == 2 and "figure.png" in err and "never replaces" in err
    assert sorted(p.name for p in mine.iterdir()) == ["figure.png", "notes.txt"]
    assert (mine / "figure.png").read_text() == "my figure"
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "x").write_text("x")
    os.chmod(ro, 0o500)
    try:
        if not os.access(ro, os.W_OK):  # root can write anyway
            rc, err = _run(["run", str(cfg), "--out", str(ro)], capsys)
            assert rc == 2 and "permission denied" in err
    finally:
        os.chmod(ro, 0o700)


def test_leftovers_of_a_killed_creation_are_removed(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(RUN + "seeds = 1\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".sleepjax").write_text("{}")
    junk = out / ".results.zarr.creating-0123456789ab"
    junk.mkdir()
    (junk / "zarr.json").write_text("{}")
    rc, _ = _run(["run", str(cfg), "--out", str(out), "--quiet"], capsys)
    assert rc == 0 and not junk.exists()
    assert not (out / LOCK).exists()  # released at the end


def test_lock_refuses_a_second_writer_and_takes_over_a_stale_lock(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(RUN)
    out = tmp_path / "out"
    out.mkdir()
    # a live holder: this very process, under another job
    held = OutputLock.acquire(out)
    rc, err = _run(["run", str(cfg), "--out", str(out), "--quiet"], capsys)
    assert rc == 2 and "in use by another sleepjax process" in err
    assert f"pid {os.getpid()}" in err
    rc, err = _run(["run", str(cfg), "--out", str(out), "--overwrite"], capsys)
    assert rc == 2 and "in use" in err
    held.release()
    # a stale lock: a process of this host that no longer exists
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    info = {"pid": dead.pid, "host": os.uname().nodename, "job": "old"}
    (out / LOCK).write_text(json.dumps(info))
    rc, err = _run(["run", str(cfg), "--out", str(out), "--quiet"], capsys)
    assert rc == 0 and "removed a stale lock" in err
    assert ResultStore.open(out / "results.zarr").complete


def test_a_writer_stops_when_its_store_is_replaced(tmp_path, monkeypatch):
    """Another process deletes the lock and replaces the store mid-run: the
    first writer stops with a clear error instead of writing into it."""
    raw = config.parse(
        {
            "model": {"n": 8},
            "protocol": {
                "name": "erosion",
                "t_insert": 20.0,
                "t_end": 40.0,
                "save_every": 10.0,
            },
            "run": {"chunk_size": 2},
            "sweep": {"seeds": 6, "grid": {"model.eta": [0.01], "model.beta": [0.1]}},
        }
    )
    out = tmp_path / "out"
    real = ResultStore.write_chunk
    calls = []

    def intruder(self, i, data, status):
        calls.append(i)
        if len(calls) == 2:  # after one chunk: the store is replaced
            (out / LOCK).unlink()
            other = ResultStore.open(self.path)
            ResultStore.create(
                self.path,
                config={"other": 1},
                n_networks=other.n_networks,
                chunk_size=other.chunk_size,
                coords={},
                time=None,
                variables={"x": ((), (), "float32")},
                overwrite=True,
            )
        return real(self, i, data, status)

    monkeypatch.setattr(ResultStore, "write_chunk", intruder)
    with pytest.raises(Exception) as e:
        sweep(raw, out, quiet=True)
    assert isinstance(e.value, StoreConfigMismatch | config.ConfigError)
    assert "this run stops" in str(e.value)
    assert ResultStore.open(out / "results.zarr").config == {"other": 1}


@pytest.mark.slow  # a child process that compiles and runs (~25 s on 2 cores);
# CI: the refusal by the CLI (exit 2, the message) in
# test_lock_refuses_a_second_writer_and_takes_over_a_stale_lock and the lock
# held across processes in test_distributed_processes_share_the_lock
def test_two_processes_one_refused(tmp_path):
    """Two `sleepjax run` processes on one folder: one runs, the other is
    refused with exit 2; the store ends complete and clean."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(ERO.replace("t_end = 40.0", "t_end = 400.0") + "[run]\nseeds = 64\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "sleepjax.cli", "run", str(cfg), "--out", str(out)]
    first = subprocess.Popen(
        [*cmd, "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    t0 = time.monotonic()
    while not (out / LOCK).exists():
        assert first.poll() is None, first.stderr.read().decode()[-2000:]
        assert time.monotonic() - t0 < 120
        time.sleep(0.05)
    second = subprocess.run(
        [*cmd, "--quiet", "--overwrite"], env=env, capture_output=True, text=True
    )
    assert second.returncode == 2, second.stderr[-2000:]
    assert "in use by another sleepjax process" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.wait(timeout=300) == 0
    store = ResultStore.open(out / "results.zarr")
    assert store.complete and store.pending_chunks() == []
    assert not (out / LOCK).exists()


def test_random_mutations_run_or_are_refused_cleanly():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    base = {
        "model": {"n": 8, "rule": "dissipation", "dt": 0.5, "beta": 0.1},
        "protocol": {"name": "erosion", "t_insert": 10.0, "t_end": 20.0},
        "run": {"seeds": 2},
        "sweep": {"grid": {"model.beta": [0.05, 0.1]}},
    }
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.lists(st.floats(-1e3, 1e3), max_size=3),
    )
    keys = st.sampled_from(
        [
            ("model", "n"),
            ("model", "dt"),
            ("model", "beta"),
            ("model", "rule"),
            ("model", "tau_y"),
            ("model", "bogus"),
            ("protocol", "t_end"),
            ("protocol", "t_insert"),
            ("protocol", "code"),
            ("protocol", "name"),
            ("run", "seed"),
            ("run", "seeds"),
            ("run", "chunk_size"),
            ("sweep", "seeds"),
            ("sweep", "grid"),
        ]
    )

    @hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(st.tuples(keys, values), min_size=1, max_size=3))
    def check(mutations):
        raw = copy.deepcopy(base)
        for (section, key), value in mutations:
            if value is None:
                raw[section].pop(key, None)
            else:
                raw[section][key] = value
        try:
            validate_sweep(config.parse(raw))
        except config.ConfigError:
            pass  # refused cleanly, with a message

    check()


def test_distributed_processes_share_the_lock(tmp_path):
    """The processes of one job join the lock of process 0 (same job id); a
    process of another job is refused."""
    out = tmp_path / "out"
    lock0 = OutputLock.acquire(out, job="job-a")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from sleepjax.sweep._output import OutputLock
        lock = OutputLock.acquire(Path({str(out)!r}), job="job-a")
        assert not lock.owner
        try:
            OutputLock.acquire(Path({str(out)!r}), job="job-b")
        except Exception as e:
            print("refused:", e)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "refused: --out" in r.stdout
    lock0.release()
    assert not (out / LOCK).exists()
