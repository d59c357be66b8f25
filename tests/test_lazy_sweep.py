"""A sweep is a lazy index space (issue #17): a plan of 10⁹ networks
validates, and a store of 10⁹ networks is created and run chunk by chunk, in
the memory of a chunk; small sweeps give bitwise what the per-network tables
gave before (values, keys, store coordinates and hashes, summaries).

The "old" layout and summary here are written out independently of the
package: the networks as `np.unravel_index` over every index at once, in the
order docs/sweep.md states.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sleepjax import config
from sleepjax.config import ConfigError
from sleepjax.sweep import ResultStore, Status, sweep, validate_sweep
from sleepjax.sweep._chunks import ChunkSchedule
from sleepjax.sweep._coords import CoordSource, stream_hashes
from sleepjax.sweep._layout import _Spec
from sleepjax.sweep._summary import (
    _SeedSet,
    final_values,
    format_summary,
    summarize,
    summary_blocks,
    summary_variables,
)

ERO = {
    "model": {"n": 8},
    "protocol": {
        "name": "erosion",
        "t_insert": 20.0,
        "t_end": 40.0,
        "save_every": 10.0,
    },
}
LEARN = {
    "model": {"n": 8},
    "protocol": {
        "name": "learning",
        "t_end": 40.0,
        "window": [5.0, 15.0],
        "save_every": 10.0,
    },
}
# eta = 1e7 diverges within a few steps: failures in the summary
GRID = {
    "protocol.code": ["imaginary", "real"],
    "model.eta": [0.01, 1e7],
    "model.beta": [0.05, 0.2],
}
BILLION = 10**9
MB = 2**20


def make(base, section, **run):
    raw = copy.deepcopy(base)
    raw["sweep"] = copy.deepcopy(section)
    if run:
        raw["run"] = run
    return config.parse(raw)


# ------------------------------------------------ the old layout, by hand
def _column(values, numeric):
    if numeric:
        return np.asarray(values, dtype=np.float64)
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=str)
    arr = np.empty(len(values), dtype=object)
    arr[:] = [tuple(v) if isinstance(v, list) else v for v in values]
    return arr


def _draws(n, seed, specs):
    rng = np.random.default_rng([seed, 0x5EED5])
    out = {}
    for path, (dist, low, high) in specs.items():
        if dist == "loguniform":
            d = np.exp(rng.uniform(np.log(low), np.log(high), n))
        else:
            d = rng.uniform(low, high, n)
        out[path] = np.clip(d, low, high)
    return out


def old_layout(axes, seeds, paired=False):
    """The per-network tables as the plan used to hold them. `axes`:
    `[(kind, {path: values}, structural paths)]` in network order."""
    sizes = [len(next(iter(c.values()))) for _, c, _ in axes] + [seeds]
    n = int(np.prod(sizes))
    levels = np.unravel_index(np.arange(n), sizes)
    values, kinds, static = {}, {}, []
    for (kind, cols, structural), lev in zip(axes, levels[:-1], strict=True):
        for p, vals in cols.items():
            values[p] = _column(vals, p not in structural)[lev]
            kinds[p] = kind
            if p in structural:
                static.append(p)
    cell_axes = [i for i, a in enumerate(axes) if a[0] != "random"]
    cell = np.zeros(n, np.int64)
    if cell_axes:
        cell = np.ravel_multi_index(
            [levels[i] for i in cell_axes], [sizes[i] for i in cell_axes]
        ).astype(np.int64)
    combos = list(zip(*[values[p].tolist() for p in static], strict=True))
    first: dict = {}
    group = np.array([first.setdefault(c, len(first)) for c in combos], np.int64)
    if not static:
        group = np.zeros(n, np.int64)
    seed = np.asarray(levels[-1], np.int64)
    key = seed.astype(np.uint32) if paired else np.arange(n, dtype=np.uint32)
    coords = {
        p: np.array([str(x) for x in v.tolist()]) if v.dtype.kind == "O" else v
        for p, v in values.items()
    }
    coords["seed"] = seed
    return dict(
        n=n,
        values=values,
        kinds=kinds,
        seed=seed,
        group=group,
        cell=cell,
        key_index=key,
        coords=coords,
    )


def old_hash(values: np.ndarray) -> dict[str, str]:
    """A coordinate's layout entry as stores have always recorded it."""
    if values.dtype.kind in "US":
        payload = json.dumps([str(v) for v in values.tolist()]).encode()
    else:
        payload = np.ascontiguousarray(values).tobytes()
    kind = values.dtype.kind
    return {
        "dtype": kind,
        "sha256": hashlib.sha256(kind.encode() + b":" + payload).hexdigest(),
    }


CASES = {
    "structural, grid and zip": (
        ERO,
        {
            "seeds": 2,
            "grid": {"model.beta": [0.1, 0.2], "protocol.code": ["imaginary", "real"]},
            "zip": {"model.eta": [0.01, 0.02, 0.03], "model.noise": [1.0, 2.0, 3.0]},
        },
        [
            ("grid", {"protocol.code": ["imaginary", "real"]}, {"protocol.code"}),
            ("grid", {"model.beta": [0.1, 0.2]}, set()),
            (
                "zip",
                {"model.eta": [0.01, 0.02, 0.03], "model.noise": [1.0, 2.0, 3.0]},
                set(),
            ),
        ],
        False,
    ),
    "paired, repeated values": (
        ERO,
        {"seeds": 3, "paired": True, "grid": {"model.beta": [0.1, 0.2, 0.1]}},
        [("grid", {"model.beta": [0.1, 0.2, 0.1]}, set())],
        True,
    ),
    "random draws": (
        ERO,
        {
            "seeds": 2,
            "grid": {"model.rule": ["dissipation", "rate_control"]},
            "random": {
                "n": 5,
                "seed": 3,
                "model.noise": {"dist": "loguniform", "low": 0.1, "high": 10},
            },
        },
        [
            ("grid", {"model.rule": ["dissipation", "rate_control"]}, {"model.rule"}),
            ("random", _draws(5, 3, {"model.noise": ("loguniform", 0.1, 10)}), set()),
        ],
        False,
    ),
    "list values": (
        LEARN,
        {
            "seeds": 2,
            "grid": {
                "protocol.window": [[5.0, 15.0], [10.0, 20.0]],
                "model.beta": [0.1, 0.2],
            },
        },
        [
            (
                "grid",
                {"protocol.window": [[5.0, 15.0], [10.0, 20.0]]},
                {"protocol.window"},
            ),
            ("grid", {"model.beta": [0.1, 0.2]}, set()),
        ],
        False,
    ),
    "seeds only": (ERO, {"seeds": 7}, [], False),
}


def _equal(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "O":
        assert a.tolist() == b.tolist()
    else:
        assert a.tobytes() == b.tobytes()


# --------------------------------------------- (c) small sweeps unchanged
@pytest.mark.parametrize("case", sorted(CASES))
def test_small_plans_equal_the_old_tables(case):
    base, section, axes, paired = CASES[case]
    plan = validate_sweep(make(base, section))
    old = old_layout(axes, section["seeds"], paired)
    assert plan.n_networks == old["n"] and plan.kinds == old["kinds"]
    assert plan.paths == tuple(old["values"])
    for p, v in old["values"].items():
        _equal(plan.values[p], v)
    for name in ("seed", "group", "cell", "key_index"):
        _equal(getattr(plan, name), old[name])
    for name, v in old["coords"].items():
        _equal(plan.coords()[name], v)
    # any subset, on demand
    idx = np.random.default_rng(0).integers(0, old["n"], 11)
    for p, v in plan.values_at(idx).items():
        _equal(v, old["values"][p][idx])
    _equal(plan.seed_at(idx), old["seed"][idx])
    _equal(plan.group_at(idx), old["group"][idx])
    _equal(plan.cell_at(idx), old["cell"][idx])
    _equal(plan.key_index_at(idx), old["key_index"][idx])
    for name, v in plan.coords_at(idx).items():
        _equal(v, old["coords"][name][idx])
    # the store's layout records the same coordinate hashes as always, so
    # stores made before lazy plans resume
    spec = _Spec.build(
        plan.store_config,
        plan.n_networks,
        3,
        plan.coord_source(),
        np.arange(3.0),
        {"x": ((), (), "float32")},
    )
    assert spec.layout["coords"] == {k: old_hash(v) for k, v in old["coords"].items()}
    assert "coords_by_chunk" not in spec.layout
    arrays = _Spec.build(
        plan.store_config,
        plan.n_networks,
        3,
        old["coords"],
        np.arange(3.0),
        {"x": ((), (), "float32")},
    )
    assert arrays.layout_hash == spec.layout_hash


def _old_summarize(old, describe, status, finals, t_last, applies=None) -> dict:
    """The summary over whole arrays (before it was streamed)."""
    ok = status == 0
    cell_paths = [p for p in old["values"] if old["kinds"][p] != "random"]
    cells, first, inverse = np.unique(
        old["cell"], return_index=True, return_inverse=True
    )
    order = np.argsort(first)[:1000]

    def count(mask):
        return np.bincount(inverse, weights=mask, minlength=len(cells))

    n, n_ok = count(np.ones_like(ok)), count(ok)
    n_solver, n_nonfinite = count(status == 1), count(status == 2)
    means = {}
    for name, v in finals.items():
        good = ok & np.isfinite(v)
        k = count(good)
        total = np.bincount(
            inverse, weights=np.where(good, v, 0.0), minlength=len(cells)
        )
        means[name] = np.where(k > 0, total / np.maximum(k, 1), np.nan)

    def item(v):
        v = v.item() if isinstance(v, np.generic) else v
        return str(v) if isinstance(v, tuple | list) else v

    rows = []
    for c in order:
        row: dict[str, Any] = {p: item(old["values"][p][first[c]]) for p in cell_paths}
        row.update(
            n=int(n[c]),
            ok=int(n_ok[c]),
            solver_failed=int(n_solver[c]),
            nonfinite=int(n_nonfinite[c]),
        )
        group = int(old["group"][first[c]])
        for name, m in means.items():
            label = f"{name} mean (t={t_last:g})"
            if not (applies or {}).get(group, {}).get(name, True):
                row[label] = "n/a"
            else:
                row[label] = float(m[c]) if np.isfinite(m[c]) else None
        rows.append(row)
    where: dict[str, Any] = {}
    bad = ~ok
    if bad.any():
        for p, vals in old["values"].items():
            if old["kinds"][p] == "random":
                where[p] = {
                    "failed_range": [float(vals[bad].min()), float(vals[bad].max())],
                    "swept_range": [float(vals.min()), float(vals.max())],
                }
                continue
            keys = old["coords"][p]
            uniq, inv = np.unique(keys, return_inverse=True)
            n_bad = np.bincount(inv, weights=bad, minlength=len(uniq))
            n_all = np.bincount(inv, minlength=len(uniq))
            hit = np.flatnonzero(n_bad)[:50]
            where[p] = {
                (
                    f"{uniq[j].item():.4g}"
                    if uniq.dtype.kind == "f"
                    else str(uniq[j].item())
                ): [
                    int(n_bad[j]),
                    int(n_all[j]),
                ]
                for j in hit
            }
        seeds = np.unique(old["seed"][bad])
        where["seed"] = {"failed_seeds": seeds[:50].tolist(), "n": int(len(seeds))}
    return {
        "n_networks": int(old["n"]),
        "ok": int(ok.sum()),
        "solver_failed": int((status == 1).sum()),
        "nonfinite": int((status == 2).sum()),
        "rows": rows,
        "rows_truncated": len(rows) < len(cells),
        "diverged_where": where,
        "description": describe,
    }


def _same(a, b) -> None:
    """Equal JSON-like values, NaN equal to NaN."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


@pytest.mark.parametrize(
    ("case", "section", "axes"),
    [
        (
            "more than 1000 rows",
            {
                "seeds": 3,
                "grid": {
                    "protocol.code": ["imaginary", "real"],
                    "model.beta": [0.001 * k for k in range(1, 601)],
                },
            },
            [
                ("grid", {"protocol.code": ["imaginary", "real"]}, {"protocol.code"}),
                ("grid", {"model.beta": [0.001 * k for k in range(1, 601)]}, set()),
            ],
        ),
        (
            "random draws",
            {
                "seeds": 4,
                "grid": {"model.beta": [0.05, 0.1, 0.05]},
                "random": {
                    "n": 6,
                    "seed": 9,
                    "model.noise": {"dist": "uniform", "low": 0.5, "high": 2},
                },
            },
            [
                ("grid", {"model.beta": [0.05, 0.1, 0.05]}, set()),
                ("random", _draws(6, 9, {"model.noise": ("uniform", 0.5, 2)}), set()),
            ],
        ),
    ],
)
@pytest.mark.parametrize("seed_limit", [1 << 20, 2])
def test_streamed_summary_equals_the_whole_array_summary(
    monkeypatch, case, section, axes, seed_limit
):
    """Synthetic status and final values, summarised in blocks of 7 networks
    (rows spanning blocks) and all at once: the same numbers, bit for bit."""
    monkeypatch.setattr(_SeedSet, "LIMIT", seed_limit)  # 2: the bitmap path
    plan = validate_sweep(make(ERO, section))
    old = old_layout(axes, section["seeds"])
    rng = np.random.default_rng(5)
    n = plan.n_networks
    status = rng.choice(np.array([0, 0, 0, 1, 2], np.int8), n)
    finals = {"a": rng.normal(size=n) * 1e3, "b": rng.normal(size=n)}
    finals["b"][rng.random(n) < 0.1] = np.nan
    applies = {0: {"a": True, "b": False}}
    blocks = (
        (a, status[a : a + 7], {k: v[a : a + 7] for k, v in finals.items()})
        for a in range(0, n, 7)
    )
    new = summarize(plan, blocks, 40.0, applies)
    _same(new, _old_summarize(old, plan.describe(), status, finals, 40.0, applies))
    assert new["rows_truncated"] == (case == "more than 1000 rows")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """GRID × 24 seeds (192 networks, 96 diverging), chunks of 5: rows and
    the summary's sums span chunks."""
    out = tmp_path_factory.mktemp("lazy") / "small"
    cfg = make(ERO, {"grid": GRID, "seeds": 24}, chunk_size=5)
    return cfg, sweep(cfg, out, quiet=True)


def test_small_store_and_summary_equal_the_old_ones(small):
    cfg, result = small
    store = result.store
    old = old_layout(
        [
            ("grid", {"protocol.code": GRID["protocol.code"]}, {"protocol.code"}),
            ("grid", {"model.eta": GRID["model.eta"]}, set()),
            ("grid", {"model.beta": GRID["model.beta"]}, set()),
        ],
        24,
    )
    assert store.coord_names == tuple(old["coords"]) and not store.coords_by_chunk
    assert store.attrs["sleepjax_store"]["version"] == 1  # older sleepjax reads it
    _equal(store.read("network"), np.arange(old["n"]))
    for name, v in old["coords"].items():
        _equal(store.read(name), v)
        assert store.attrs["layout"]["coords"][name] == old_hash(v)
    status = store.read("status")
    assert (status == 2).sum() == 96 and result.n_failed == 96
    names = summary_variables(list(store.variables), ("mem_im", "mem_re", "w_std"))
    finals = {k: final_values(store.read(k)) for k in names}
    t_last = float(store.read("time")[-1])
    applies = {0: dict.fromkeys(names, True), 1: {**dict.fromkeys(names, True)}}
    applies[1]["mem_im"] = False  # the real code has no imaginary memory
    want = _old_summarize(old, result.plan.describe(), status, finals, t_last, applies)
    got = {k: v for k, v in result.summary.items() if k in want}
    _same(got, want)
    text = (store.path.parent / "sweep_summary.txt").read_text()
    assert text == format_summary(result.summary) + "\n"
    # streamed one chunk at a time: the same summary
    chunked = summarize(
        result.plan, summary_blocks(store, names, 1, 1), t_last, applies
    )
    _same(chunked, want)
    # in memory: the same results and summary
    mem = sweep(cfg, None, quiet=True)
    _same({k: v for k, v in mem.summary.items() if k in want}, want)
    for k in store.variables:
        np.testing.assert_array_equal(mem.data[k], store.read(k))
    _equal(mem.status, status)


# ---------------------------------------------- (a) a plan of 10⁹ networks
def test_a_billion_network_plan_in_bounded_memory():
    cfg = make(ERO, {"grid": GRID, "seeds": BILLION // 8})
    tracemalloc.start()
    try:
        plan = validate_sweep(cfg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.n_networks == BILLION and peak < 50 * MB, peak / MB
    sizes = (2, 2, 2, BILLION // 8)
    for idx in (np.arange(64), np.arange(BILLION - 64, BILLION)):
        code, eta, beta, seed = np.unravel_index(idx, sizes)
        values = plan.values_at(idx)
        _equal(values["protocol.code"], np.array(GRID["protocol.code"])[code])
        _equal(values["model.eta"], np.array(GRID["model.eta"])[eta])
        _equal(values["model.beta"], np.array(GRID["model.beta"])[beta])
        _equal(plan.seed_at(idx), seed.astype(np.int64))
        _equal(plan.group_at(idx), code.astype(np.int64))
        _equal(plan.cell_at(idx), (idx // (BILLION // 8)).astype(np.int64))
        _equal(plan.key_index_at(idx), idx.astype(np.uint32))
    paired = validate_sweep(
        make(ERO, {"grid": GRID, "seeds": BILLION // 8, "paired": True})
    )
    last = np.arange(BILLION - 5, BILLION)
    _equal(paired.key_index_at(last), (last % (BILLION // 8)).astype(np.uint32))
    with pytest.raises(ValueError, match="values_at"):
        plan.values  # noqa: B018 - a whole-sweep table is refused, not built
    with pytest.raises(IndexError):
        plan.seed_at([BILLION])
    assert "1000000000 networks" in plan.describe()
    # the coordinates' layout entry comes from the axes, not 10⁹ values
    source = plan.coord_source()
    assert source.by_chunk
    other = validate_sweep(make(ERO, {"grid": GRID, "seeds": BILLION // 8 - 1}))
    assert other.coord_source().hashes()["seed"] != source.hashes()["seed"]


def test_refusals_name_the_numbers():
    with pytest.raises(ConfigError, match="3000000000 networks is more than"):
        validate_sweep(make(ERO, {"seeds": 3_000_000_000}))
    # in memory, the results must fit the budget (refused before compiling)
    cfg = make(ERO, {"seeds": 10**6}, memory_budget_mb=64)
    with pytest.raises(ConfigError, match=r"1000000 networks kept in memory.*= 64 MiB"):
        sweep(cfg, None, quiet=True)
    with pytest.raises(ValueError, match="max_chunks needs a results folder"):
        sweep(cfg, None, quiet=True, max_chunks=1)
    with pytest.raises(ValueError, match="max_chunks must be >= 1"):
        sweep(cfg, "unused", quiet=True, max_chunks=0)


# ------------------------------------ (b) a store of 10⁹ networks, 2 chunks
class _Crash(BaseException):
    pass


def test_a_billion_network_store_runs_chunk_by_chunk(small, tmp_path, monkeypatch):
    _, ref = small  # same structure: its compiled calls are reused
    cfg = make(ERO, {"grid": GRID, "seeds": BILLION // 8}, chunk_size=8)
    out = tmp_path / "big"
    tracemalloc.start()
    try:
        result = sweep(cfg, out, quiet=True, max_chunks=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * MB, peak / MB
    store = ResultStore.open(result.path)
    assert store.n_networks == BILLION and store.n_chunks == BILLION // 8
    assert store.coords_by_chunk and store.attrs["sleepjax_store"]["version"] == 2
    assert store.done_chunks() == [0, 1] and not store.complete
    assert result.summary == {} and result.n_failed == 0
    assert not (out / "sweep_summary.txt").exists()

    def check(chunk):  # the same networks as in the small sweep, bit for bit
        sl = store.chunk_slice(chunk)
        for k in store.variables:
            np.testing.assert_array_equal(store.read(k, chunk), ref.store.read(k)[sl])
        for k in ("network", "seed", *GRID, "status"):
            _equal(store.read(k, chunk), ref.store.read(k)[sl])

    check(0)
    check(1)
    # chunks never run hold no coordinates yet (the fill values)
    assert store.read("seed", 2).tolist() == [0] * 8
    assert store.read("protocol.code", 2).tolist() == [""] * 8

    # a crash after chunk 2's results and coordinates, before its status
    def crash(self, sl, status):
        raise _Crash

    monkeypatch.setattr(ResultStore, "_commit_status", crash)
    with pytest.raises(_Crash):
        sweep(cfg, out, quiet=True, max_chunks=1)
    monkeypatch.undo()
    assert store.done_chunks() == [0, 1]
    assert store.read("seed", 2).tolist() == list(range(16, 24))  # written ...
    assert (store.read("status", 2) == Status.PENDING).all()  # ... not committed
    tracemalloc.start()
    try:
        sweep(cfg, out, quiet=True, max_chunks=1)  # resumes: chunk 2 only
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * MB, peak / MB
    assert store.done_chunks() == [0, 1, 2]
    check(2)


# ------------------------------------------------ pieces of the machinery
@pytest.mark.parametrize("pc", [1, 3])
def test_chunk_schedule_matches_a_plain_list(pc):
    rng = np.random.default_rng(pc)
    n, chunk = 1003, 10
    n_chunks = 101
    done = np.sort(rng.choice(n_chunks, 40, replace=False)).astype(np.int64)
    if pc == 1:
        done = np.append(done[done != n_chunks - 1], n_chunks - 1)
    for pi in range(pc):
        s = ChunkSchedule(n, chunk, done, pi, pc)
        pending = [i for i in range(n_chunks) if i not in set(done.tolist())]
        mine = [i for i in pending if i % pc == pi]
        sizes = [min((i + 1) * chunk, n) - i * chunk for i in range(n_chunks)]
        assert list(s.mine()) == mine and s.n_mine == len(mine)
        assert s.n_pending == len(pending)
        assert s.mine_networks == sum(sizes[i] for i in mine)
        assert s.done_networks == sum(sizes[i] for i in done.tolist())
        for lo, hi in [(0, 101), (5, 9), (50, 51), (100, 101), (7, 7)]:
            want = any(lo <= i < hi for i in mine)
            assert s.any_mine_pending(lo, hi) == want


def test_streamed_hashes_equal_whole_array_hashes():
    class Arrays(CoordSource):
        def __init__(self, arrays):
            self.arrays, self.names = arrays, tuple(arrays)
            self.n_networks = len(next(iter(arrays.values())))

        def block(self, start, stop):
            return {k: v[start:stop] for k, v in self.arrays.items()}

    rng = np.random.default_rng(1)
    arrays = {
        "f": rng.normal(size=103),
        "i": rng.integers(0, 9, 103),
        "b": rng.random(103) < 0.5,
        "s": np.array([["a", "bc", "", "ü-x"][k] for k in rng.integers(0, 4, 103)]),
    }
    want = {k: old_hash(v) for k, v in arrays.items()}
    for size in (1, 7, 103, 1 << 20):
        assert stream_hashes(Arrays(arrays), size) == want


# --------------------------------- kill -9 while writing a by-chunk store
_CHILD = """
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, {test_dir!r})
from test_lazy_sweep import _ChunkCoords, _store_args
from sleepjax.sweep._store import ResultStore

path = Path(sys.argv[1])
store = ResultStore.open_or_create(path, **_store_args())
real = ResultStore._commit_status

def slow_commit(self, sl, status):
    if sl.start >= 2 * 4:  # chunk 2: data and coordinates written, then hang
        Path(str(path) + ".mid").touch()
        time.sleep(60)
    real(self, sl, status)

ResultStore._commit_status = slow_commit
for i in store.pending_chunks():
    store.write_chunk(i, {{"x": np.full(4, float(i))}}, np.zeros(4, np.int8))
"""


class _ChunkCoords(CoordSource):
    """Coordinates of 400 networks computed on demand, written by chunk."""

    n_networks = 400
    names = ("seed", "label")
    by_chunk = True

    def block(self, start, stop):
        idx = np.arange(start, stop)
        return {"seed": idx % 7, "label": np.array([f"L{i % 3}" for i in idx])}

    def hashes(self):
        return {k: {"dtype": "x", "sha256": k} for k in self.names}


def _store_args():
    return dict(
        config={"test": "by chunk"},
        n_networks=400,
        chunk_size=4,
        coords=_ChunkCoords(),
        time=None,
        variables={"x": ((), (), "float64")},
    )


def test_sigkill_while_writing_a_store_with_coordinates_by_chunk(tmp_path):
    path = tmp_path / "k.zarr"
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(_CHILD).format(test_dir=str(Path(__file__).parent))
    )
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    t0 = time.monotonic()
    while not Path(str(path) + ".mid").exists():
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode())
        assert time.monotonic() - t0 < 120, "the child never reached chunk 2"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()

    store = ResultStore.open(path)
    assert store.done_chunks() == [0, 1] and store.coords_by_chunk
    assert store.read("seed", 2).tolist() == [1, 2, 3, 4]  # written, not committed
    assert (store.read("status", 2) == Status.PENDING).all()
    assert store.read("label", 3).tolist() == [""] * 4  # never reached
    resumed = ResultStore.open_or_create(path, **_store_args())
    assert resumed.pending_chunks()[:2] == [2, 3]
    for i in resumed.pending_chunks():
        resumed.write_chunk(i, {"x": np.full(4, float(i))}, np.zeros(4, np.int8))
    resumed.finalize()
    src = _ChunkCoords().block(0, 400)
    _equal(resumed.read("seed"), src["seed"])
    _equal(resumed.read("label"), src["label"])
    _equal(resumed.read("network"), np.arange(400))
    np.testing.assert_array_equal(resumed.read("x"), np.arange(400) // 4)
