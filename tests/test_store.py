"""Tests for sleepjax.sweep._store.ResultStore (zarr v3 results store)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import sleepjax.sweep._store as store_mod
from sleepjax.sweep._store import (
    ResultStore,
    Status,
    StoreConfigMismatch,
    VariableSpec,
)

N = 10  # networks
CS = 4  # chunk size -> chunks of 4, 4, 2
NT = 5  # time points
NE = 3  # eigenvalues
CONFIG = {"model": "decorrelation", "eta": [0.1, 0.2], "n": np.int64(3), "dt": 0.1}


def _coords(n=N):
    return {
        "eta": np.linspace(0.0, 1.0, n),
        "seed": np.arange(n, dtype=np.int64) + 100,
        "rule": np.array(["hebb", "oja", "covariance"] * n)[:n],
    }


def _variables():
    return {
        "rate": VariableSpec(("time",), (NT,), "float32", attrs={"units": "Hz"}),
        "eigvals": VariableSpec(("eig",), (NE,), "complex64"),
        "capacity": ((), (), "float64"),  # tuple form, scalar per network
    }


def _make(path, config=CONFIG, **kw):
    args = dict(
        config=config,
        n_networks=N,
        chunk_size=CS,
        coords=_coords(),
        time=np.arange(NT) * 0.5,
        variables=_variables(),
        device="cpu test",
    )
    args.update(kw)
    return args


def _expected(n=N):
    """Deterministic outputs of every network, and a status with failures."""
    net = np.arange(n)
    rate = (net[:, None] * 10 + np.arange(NT)[None, :]).astype(np.float32) / 7
    eig = (net[:, None] + 1j * np.arange(NE)[None, :]).astype(np.complex64)
    cap = net.astype(np.float64) ** 0.5
    status = np.zeros(n, np.int8)
    status[3] = Status.SOLVER_FAILURE
    status[8] = Status.NONFINITE
    for arr in (rate, eig, cap):  # the caller NaN-masks failed networks
        arr[status != 0] = np.nan
    return {"rate": rate, "eigvals": eig, "capacity": cap}, status


def _write(store, i):
    data, status = _expected()
    sl = store.chunk_slice(i)
    store.write_chunk(i, {k: v[sl] for k, v in data.items()}, status[sl])


def _assert_chunks_correct(store, chunks):
    data, status = _expected()
    for i in chunks:
        sl = store.chunk_slice(i)
        for name, values in data.items():
            np.testing.assert_array_equal(store.read(name, chunk=i), values[sl])
        np.testing.assert_array_equal(store.read("status", chunk=i), status[sl])


# --------------------------------------------------------------------------


def test_full_roundtrip_through_xarray(tmp_path):
    path = tmp_path / "sweep.zarr"
    store = ResultStore.create(path, **_make(path))
    assert store.n_chunks == 3
    assert store.pending_chunks() == [0, 1, 2]
    assert [store.chunk_slice(i) for i in range(3)] == [
        slice(0, 4),
        slice(4, 8),
        slice(8, 10),
    ]
    for i in store.pending_chunks():
        _write(store, i)
    assert store.pending_chunks() == []
    assert not store.complete
    store.finalize(summary={"wall_s": 1.5, "n_failed": np.int64(2)})
    assert store.complete

    data, status = _expected()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # opening must be warning-free
        ds = xr.open_zarr(path)
        ds.load()

    assert dict(ds.sizes) == {"network": N, "time": NT, "eig": NE}
    assert set(ds.coords) == {"network", "time", "eta", "seed", "rule"}
    assert set(ds.data_vars) == {"rate", "eigvals", "capacity", "status"}
    assert ds["rate"].dims == ("network", "time")
    assert ds["eigvals"].dims == ("network", "eig")
    assert ds["capacity"].dims == ("network",)
    assert ds["eta"].dims == ("network",)
    np.testing.assert_array_equal(ds["network"].values, np.arange(N))
    np.testing.assert_array_equal(ds["time"].values, np.arange(NT) * 0.5)
    np.testing.assert_array_equal(ds["eta"].values, _coords()["eta"])
    np.testing.assert_array_equal(ds["seed"].values, _coords()["seed"])

    # data round-trips exactly (NaN where the caller masked), dtypes kept
    for name, values in data.items():
        assert ds[name].dtype == values.dtype
        np.testing.assert_array_equal(ds[name].values, values)
    assert ds["status"].dtype == np.int8
    np.testing.assert_array_equal(ds["status"].values, status)
    assert ds["rate"].attrs["units"] == "Hz"

    attrs = ds.attrs
    assert attrs["complete"] is True
    assert attrs["config"] == {
        "model": "decorrelation",
        "eta": [0.1, 0.2],
        "n": 3,
        "dt": 0.1,
    }
    assert attrs["config_hash"] == store.config_hash and len(store.config_hash) == 64
    assert attrs["device"] == "cpu test"
    assert attrs["summary"] == {"wall_s": 1.5, "n_failed": 2}
    assert attrs["created"] and attrs["finalized"]
    for pkg in ("python", "jax", "jaxlib", "equinox", "diffrax", "numpy", "zarr"):
        assert pkg in attrs["versions"]
    assert attrs["versions"]["numpy"] == np.__version__
    assert attrs["versions"]["zarr"] == zarr.__version__

    # one zarr chunk per sweep chunk along network
    group = zarr.open_group(str(path), mode="r")
    for name in ("rate", "eigvals", "capacity", "status", "eta", "rule"):
        assert group[name].chunks[0] == CS
    # plain zarr/numpy reads agree
    np.testing.assert_array_equal(group["rate"][:], data["rate"])
    np.testing.assert_array_equal(store.to_xarray()["capacity"], data["capacity"])


def test_string_categorical_coordinate_roundtrip(tmp_path):
    path = tmp_path / "s.zarr"
    rule = np.array(["hebb", "oja", "covariance", "oja", "ü-rule"] * 2, dtype=object)
    store = ResultStore.create(
        path, **_make(path, coords={"rule": rule, "seed": np.arange(N)})
    )
    for i in store.pending_chunks():
        _write(store, i)
    store.finalize()
    ds = xr.open_zarr(path)
    assert "rule" in ds.coords
    assert [str(v) for v in ds["rule"].values] == list(rule)
    oja = ds.where(ds["rule"] == "oja", drop=True)
    np.testing.assert_array_equal(oja["network"].values, [1, 3, 6, 8])
    assert ResultStore.open(path).read("rule").tolist() == list(rule)


def test_partial_writes_and_reopen(tmp_path):
    path = tmp_path / "p.zarr"
    store = ResultStore.create(path, **_make(path))
    _write(store, 0)
    _write(store, 2)
    del store

    ro = ResultStore.open(path)
    assert ro.read_only and not ro.complete
    assert ro.pending_chunks() == [1]
    assert ro.done_chunks() == [0, 2]
    assert xr.open_zarr(path).attrs["complete"] is False
    with pytest.raises(ValueError, match="read-only"):
        _write(ro, 1)
    with pytest.raises(ValueError, match="read-only"):
        ro.finalize()
    status = ro.read("status")
    assert (status[4:8] == Status.PENDING).all() and (status[:4] >= 0).all()
    assert np.isnan(ro.read("rate")[4:8]).all()  # never written -> fill value

    # resume with the same config: done chunks kept, only chunk 1 left
    resumed = ResultStore.open_or_create(path, **_make(path, device="gpu"))
    assert resumed.pending_chunks() == [1]
    _assert_chunks_correct(resumed, [0, 2])
    assert [r["device"] for r in resumed.attrs["resumed"]] == ["gpu"]
    assert resumed.attrs["device"] == "cpu test"  # the creator's device
    with pytest.raises(ValueError, match="already written"):
        _write(resumed, 0)
    _write(resumed, 1)
    resumed.finalize()
    _assert_chunks_correct(ResultStore.open(path), [0, 1, 2])
    assert ResultStore.open(path).complete


def test_crash_between_data_and_status_leaves_chunk_pending(tmp_path, monkeypatch):
    path = tmp_path / "c.zarr"
    store = ResultStore.create(path, **_make(path))
    _write(store, 0)

    class Crash(BaseException):
        pass

    def crash(self, sl, status):
        raise Crash("simulated crash before the status commit")

    monkeypatch.setattr(ResultStore, "_commit_status", crash)
    with pytest.raises(Crash):
        _write(store, 1)
    monkeypatch.undo()

    reopened = ResultStore.open_or_create(path, **_make(path))
    # the data of chunk 1 did reach the disk, but without status it is pending
    data, _ = _expected()
    np.testing.assert_array_equal(
        reopened.read("capacity", chunk=1), data["capacity"][4:8]
    )
    assert reopened.pending_chunks() == [1, 2]
    with pytest.raises(ValueError, match="pending"):
        reopened.finalize()
    _write(reopened, 1)
    _write(reopened, 2)
    reopened.finalize()
    _assert_chunks_correct(reopened, [0, 1, 2])


def test_unreadable_status_chunk_counts_as_pending(tmp_path):
    """A torn status chunk file (older zarr without atomic writes) -> pending."""
    path = tmp_path / "t.zarr"
    store = ResultStore.create(path, **_make(path))
    for i in range(3):
        _write(store, i)
    chunk_file = path / "status" / "c" / "1"
    chunk_file.write_bytes(chunk_file.read_bytes()[:3])
    (path / "status" / "c" / "2.deadbeef.partial").write_bytes(b"xx")
    reopened = ResultStore.open_or_create(path, **_make(path))
    assert reopened.pending_chunks() == [1]
    _write(reopened, 1)
    reopened.finalize()  # also sweeps leftover temporary files
    assert not (path / "status" / "c" / "2.deadbeef.partial").exists()
    _assert_chunks_correct(reopened, [0, 1, 2])


def test_config_mismatch_refused_unless_overwrite(tmp_path):
    path = tmp_path / "m.zarr"
    store = ResultStore.open_or_create(path, **_make(path))
    _write(store, 0)

    other = dict(CONFIG, dt=0.05)
    with pytest.raises(StoreConfigMismatch, match="config differs.*'dt'"):
        ResultStore.open_or_create(path, **_make(path, config=other))
    assert issubclass(StoreConfigMismatch, ValueError)
    # layout changes are refused too, even with the same config
    with pytest.raises(StoreConfigMismatch, match="chunk_size"):
        ResultStore.open_or_create(path, **_make(path, chunk_size=5))
    coords = _coords()
    coords["eta"] = coords["eta"] * 2
    with pytest.raises(StoreConfigMismatch, match="coords.*eta"):
        ResultStore.open_or_create(path, **_make(path, coords=coords))
    # the refused attempts left the store untouched
    assert ResultStore.open(path).pending_chunks() == [1, 2]

    fresh = ResultStore.open_or_create(
        path, **_make(path, config=other), overwrite=True
    )
    assert fresh.pending_chunks() == [0, 1, 2]
    assert fresh.config["dt"] == 0.05
    assert ResultStore.open(path).config["dt"] == 0.05
    assert [p.name for p in tmp_path.iterdir()] == ["m.zarr"]  # no leftovers


def test_create_refuses_existing_and_foreign_paths(tmp_path):
    path = tmp_path / "e.zarr"
    ResultStore.create(path, **_make(path))
    with pytest.raises(ValueError, match="already holds a sleepjax store"):
        ResultStore.create(path, **_make(path))
    ResultStore.create(path, **_make(path), overwrite=True)

    afile = tmp_path / "file.txt"
    afile.write_text("keep me")
    with pytest.raises(ValueError, match="is a file"):
        ResultStore.create(afile, **_make(afile))
    with pytest.raises(ValueError, match="is a file"):
        ResultStore.open_or_create(afile, **_make(afile), overwrite=True)
    with pytest.raises(ValueError, match="is a file"):
        ResultStore.open(afile)

    foreign = tmp_path / "mydata"
    foreign.mkdir()
    (foreign / "precious.npy").write_text("x")
    with pytest.raises(ValueError, match="not a sleepjax store"):
        ResultStore.open_or_create(foreign, **_make(foreign), overwrite=True)
    assert (foreign / "precious.npy").exists()
    with pytest.raises(ValueError, match="not a sleepjax result store"):
        ResultStore.open(foreign)
    with pytest.raises(FileNotFoundError):
        ResultStore.open(tmp_path / "missing.zarr")

    empty = tmp_path / "empty"
    empty.mkdir()
    assert ResultStore.create(empty, **_make(empty)).pending_chunks() == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"coords": {"eta": np.zeros(N - 1)}}, "coordinate 'eta' must be 1-D"),
        ({"coords": {"eta": np.zeros((N, 2))}}, "coordinate 'eta' must be 1-D"),
        ({"coords": {"status": np.zeros(N)}}, "reserved"),
        ({"coords": {"bad name": np.zeros(N)}}, "invalid coordinate name"),
        ({"coords": {"rate": np.zeros(N)}}, "both a coordinate and a variable"),
        ({"n_networks": 0}, "n_networks must be >= 1"),
        ({"chunk_size": 0}, "chunk_size must be >= 1"),
        ({"time": None}, "'time' dimension but time=None"),
        ({"time": np.arange(NT + 1)}, "time coordinate has length"),
        ({"config": {"f": object()}}, r"config\['f'\].*not JSON"),
        ({"variables": {}}, "at least one variable"),
        ({"variables": {"x": (("eig",), (2,), "U3")}}, "dtype must be"),
        (
            {"variables": {"a": (("k",), (2,), "f4"), "b": (("k",), (3,), "f4")}},
            "dimension 'k' has size 3",
        ),
    ],
)
def test_create_validation(tmp_path, kwargs, match):
    path = tmp_path / "v.zarr"
    with pytest.raises(ValueError, match=match):
        ResultStore.create(path, **_make(path, **kwargs))
    assert not path.exists()


def test_write_chunk_validation(tmp_path):
    path = tmp_path / "w.zarr"
    store = ResultStore.create(path, **_make(path))
    data, status = _expected()
    good = {k: v[:4] for k, v in data.items()}

    with pytest.raises(ValueError, match="unknown variable.*'nope'"):
        store.write_chunk(0, {**good, "nope": np.zeros(4)}, status[:4])
    with pytest.raises(ValueError, match="missing variable.*'capacity'"):
        store.write_chunk(0, {k: good[k] for k in ("rate", "eigvals")}, status[:4])
    with pytest.raises(ValueError, match=r"'rate' in chunk 0: expected shape \(4, 5\)"):
        store.write_chunk(0, {**good, "rate": np.zeros((3, NT))}, status[:4])
    with pytest.raises(ValueError, match=r"expected shape \(2, 5\)"):
        store.write_chunk(2, good, status[:2])  # last chunk holds 2 networks
    with pytest.raises(ValueError, match="out of range"):
        store.write_chunk(3, good, status[:4])
    with pytest.raises(ValueError, match="out of range"):
        store.chunk_slice(-1)
    with pytest.raises(ValueError, match="must be an int"):
        store.write_chunk(1.0, good, status[:4])
    with pytest.raises(ValueError, match="invalid codes"):
        store.write_chunk(0, good, np.array([0, 0, -1, 7]))
    with pytest.raises(ValueError, match=r"status for chunk 0: expected shape"):
        store.write_chunk(0, good, status[:3])
    with pytest.raises(ValueError, match="cannot store dtype complex"):
        store.write_chunk(0, {**good, "capacity": good["eigvals"][:, 0]}, status[:4])
    with pytest.raises(ValueError, match="no array 'nope'"):
        store.read("nope")
    # nothing above marked anything done
    assert store.pending_chunks() == [0, 1, 2]

    for i in range(3):
        _write(store, i)
    store.finalize()
    store.finalize(summary={"again": True})  # idempotent on a complete store
    assert store.attrs["summary"] == {"again": True}
    with pytest.raises(ValueError, match="finalized"):
        store.write_chunk(0, good, status[:4])


def test_finalize_with_pending_chunks_raises(tmp_path):
    path = tmp_path / "f.zarr"
    store = ResultStore.create(path, **_make(path))
    _write(store, 1)
    with pytest.raises(ValueError, match=r"2 of 3 chunks pending \(0, 2\)"):
        store.finalize()
    assert not store.complete
    assert xr.open_zarr(path).attrs["complete"] is False


# --------------------------------------------------------------------------
# a real kill -9 while a child process writes

_CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {test_dir!r})
import test_store as t
from sleepjax.sweep._store import ResultStore

path, mode = Path(sys.argv[1]), sys.argv[2]
kw = {{"chunk_size": 1}} if mode == "loop" else {{}}
store = ResultStore.open_or_create(path, **t._make(path, **kw))
if mode == "hang":
    real = ResultStore._commit_status

    def slow_commit(self, sl, status):
        if sl.start >= 2 * t.CS:  # from the third chunk on: data written,
            Path(str(path) + ".mid").touch()  # tell the parent, then hang
            time.sleep(60)  # before the status commit
        real(self, sl, status)

    ResultStore._commit_status = slow_commit
for i in store.pending_chunks():
    if mode == "loop" and i == t.N - 1:
        time.sleep(60)  # never finish before the parent's kill, however slow it is
    t._write(store, i)
    time.sleep(0.1)
store.finalize()
"""


def _spawn(tmp_path, path, mode):
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(_CHILD).format(test_dir=str(Path(__file__).parent))
    )
    root = str(Path(store_mod.__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.Popen(
        [sys.executable, str(script), str(path), mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(cond, proc, timeout=60.0):
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            out = proc.stdout.read().decode()
            raise AssertionError(f"child exited early ({proc.returncode}):\n{out}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("timed out waiting for the child")
        time.sleep(0.01)


def _sigkill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    proc.stdout.close()


def test_sigkill_mid_chunk_then_resume(tmp_path):
    """Killed after writing chunk 2's data but before its status commit."""
    path = tmp_path / "k.zarr"
    proc = _spawn(tmp_path, path, "hang")
    _wait_for(lambda: Path(str(path) + ".mid").exists(), proc)
    _sigkill(proc)

    store = ResultStore.open(path)
    assert not store.complete
    assert store.done_chunks() == [0, 1]
    assert store.pending_chunks() == [2]
    _assert_chunks_correct(store, [0, 1])
    data, _ = _expected()
    # chunk 2's data reached the disk, yet the chunk is not done
    np.testing.assert_array_equal(store.read("rate", chunk=2), data["rate"][8:])
    assert (store.read("status", chunk=2) == Status.PENDING).all()

    resumed = ResultStore.open_or_create(path, **_make(path))
    assert resumed.pending_chunks() == [2]
    _write(resumed, 2)
    resumed.finalize()
    _assert_chunks_correct(ResultStore.open(path), [0, 1, 2])
    np.testing.assert_array_equal(xr.open_zarr(path)["status"].values, _expected()[1])


def test_sigkill_while_looping(tmp_path):
    """A child writing chunks in a loop, killed at an arbitrary moment."""
    path = tmp_path / "loop.zarr"
    ResultStore.create(path, **_make(path, n_networks=N, chunk_size=1))
    proc = _spawn(tmp_path, path, "loop")
    store = ResultStore.open(path)
    _wait_for(lambda: len(store.done_chunks()) >= 2, proc)
    _sigkill(proc)

    done, pending = store.done_chunks(), store.pending_chunks()
    assert len(done) >= 2 and not store.complete
    assert done == list(range(len(done)))  # written in order ...
    assert pending == list(range(len(done), N))  # ... so the rest is pending
    data, status = _expected()
    for i in done:
        for name, values in data.items():
            np.testing.assert_array_equal(store.read(name, chunk=i), values[i : i + 1])
    assert (store.read("status")[len(done) :] == Status.PENDING).all()
    np.testing.assert_array_equal(
        store.read("status")[: len(done)], status[: len(done)]
    )
