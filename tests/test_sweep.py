"""Sweeps: [sweep] validation, determinism across chunk sizes, failure
isolation, the results store (xarray, resume, mismatch) and `sleepjax plot`.

Networks are tiny (n = 8, 400 Euler steps); the cost is compilation, so the
tests share configs whose compiled calls the runner caches in-process.
"""

from __future__ import annotations

import argparse
import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sleepjax import config, network_keys
from sleepjax.cli import add_plot_parser, plot_main
from sleepjax.config import ConfigError
from sleepjax.sweep import (
    ResultStore,
    StoreConfigMismatch,
    sweep,
    validate_sweep,
)

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "model": {"n": 8},
    "protocol": {
        "name": "erosion",
        "t_insert": 20.0,
        "t_end": 40.0,
        "save_every": 10.0,
    },
}


def make(sweep_section=None, **run):
    raw = copy.deepcopy(BASE)
    if sweep_section is not None:
        raw["sweep"] = sweep_section
    if run:
        raw["run"] = run
    return config.parse(raw)


# eta = 1e7 makes W overflow within a few steps: those networks must fail alone.
# eta is the outer axis, so the good networks have the same global indices
# (hence keys) with or without the bad ones.
BAD = {"seeds": 3, "grid": {"model.eta": [0.01, 1e7], "model.beta": [0.05, 0.2]}}
GOOD = {"seeds": 3, "grid": {"model.eta": [0.01], "model.beta": [0.05, 0.2]}}


def _arrays(result) -> dict[str, np.ndarray]:
    names = list(result.store.variables) if result.path else list(result.data)
    out = {k: np.asarray(result.read(k)) for k in names}
    out["status"] = np.asarray(result.read("status"))
    return out


def _assert_bitwise(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert np.array_equal(a[k], b[k], equal_nan=True), k
        # equal_nan compares values; also compare the bits of the finite ones
        assert a[k].tobytes() == b[k].tobytes(), k


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The BAD sweep written to a store (chunks of 5 → 3 chunks)."""
    out = tmp_path_factory.mktemp("sweep") / "run"
    result = sweep(make(BAD, chunk_size=5), out, quiet=True)
    return out, result


# ------------------------------------------------------------- bad input
BAD_INPUTS = [
    ({"grid": {"model.bta": [0.1]}}, "did you mean 'model.beta'"),
    ({"grid": {"beta": [0.1]}}, "did you mean 'model.beta'"),
    ({"gird": {"model.beta": [0.1]}}, "did you mean 'grid'"),
    ({"grid": {"model.beta": []}}, "empty list"),
    ({"grid": {}}, "grid is empty"),
    ({"grid": {"model.beta": 0.1}}, "must be a list"),
    ({"seeds": -2}, "seeds must be an integer >= 1"),
    ({"seeds": 0}, "seeds must be an integer >= 1"),
    ({"grid": {"model.beta": [0.1, -0.5]}}, "beta must be >= 0"),
    ({"grid": {"model.tau_y": [0.0]}}, "tau_y must be > 0"),
    ({"grid": {"model.eta": [float("nan")]}}, "must be finite"),
    ({"grid": {"model.rule": ["dissipation", "hebb"]}}, "unknown [model] rule"),
    ({"grid": {"protocol.code": ["complex"]}}, "unknown [protocol] code"),
    ({"grid": {"protocol.t_insert": [50.0]}}, "must come before t_end"),
    ({"grid": {"model.noise": ["loud"]}}, "values must be numbers"),
    ({"zip": {"model.eta": [0.1, 0.2], "model.beta": [0.1]}}, "same length"),
    (
        {"grid": {"model.beta": [0.1]}, "zip": {"model.beta": [0.2]}},
        "appears in both",
    ),
    ({"random": {"n": 0, "model.noise": {}}}, "random.n must be an integer >= 1"),
    ({"random": {"model.noise": {}}}, "random needs n"),
    (
        {"random": {"n": 4, "model.noise": {"dist": "lognormal", "low": 1, "high": 2}}},
        "did you mean 'loguniform'",
    ),
    (
        {
            "random": {
                "n": 4,
                "model.noise": {"dist": "loguniform", "low": 0, "high": 2},
            }
        },
        "needs low > 0",
    ),
    (
        {"random": {"n": 4, "model.noise": {"dist": "uniform", "low": 3, "high": 2}}},
        "need low < high",
    ),
    (
        {"random": {"n": 4, "model.beta": {"dist": "uniform", "low": -1, "high": 2}}},
        "beta must be >= 0",
    ),
    (
        {"random": {"n": 4, "model.noise": {"dist": "uniform", "lo": 0, "high": 2}}},
        "did you mean 'low'",
    ),
    (
        {"random": {"n": 4, "model.n": {"dist": "uniform", "low": 8, "high": 16}}},
        "structural",
    ),
    ({"grid": {"protocol.name": ["learning"]}}, "cannot be swept"),
    ({"paired": "yes"}, "paired must be true or false"),
]


@pytest.mark.parametrize(("section", "message"), BAD_INPUTS)
def test_bad_input_refused_before_anything_is_written(tmp_path, section, message):
    cfg = make(section)
    with pytest.raises(ConfigError, match="^\\[sweep\\]") as info:
        validate_sweep(cfg)
    assert message in str(info.value)
    out = tmp_path / "out"
    with pytest.raises(ConfigError):
        sweep(cfg, out, quiet=True)
    assert not out.exists()


def test_plan_layout_order_groups_and_keys():
    cfg = make(
        {
            "seeds": 2,
            "grid": {"model.beta": [0.1, 0.2], "protocol.code": ["imaginary", "real"]},
            "zip": {"model.eta": [0.01, 0.02, 0.03], "model.noise": [1, 2, 3]},
        }
    )
    plan = validate_sweep(cfg)
    assert plan.n_networks == 2 * 2 * 3 * 2
    # structural axis outermost, then the rest as written, zip, seed fastest
    assert plan.paths == ("protocol.code", "model.beta", "model.eta", "model.noise")
    assert plan.static == ("protocol.code",)
    assert [g.static for g in plan.groups] == [
        {"protocol.code": "imaginary"},
        {"protocol.code": "real"},
    ]
    assert plan.groups[1].config.protocol_kwargs["code"] == "real"
    np.testing.assert_array_equal(plan.group, np.repeat([0, 1], 12))
    np.testing.assert_array_equal(plan.seed, np.tile([0, 1], 12))
    np.testing.assert_array_equal(
        plan.values["model.eta"][:6], [0.01] * 2 + [0.02] * 2 + [0.03] * 2
    )
    np.testing.assert_array_equal(plan.values["model.noise"][:6], [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(plan.values["model.beta"][:12], [0.1] * 6 + [0.2] * 6)
    assert len(np.unique(plan.cell)) == 2 * 2 * 3
    # keys by global index (as sleepjax.network_keys), or by seed when paired
    np.testing.assert_array_equal(plan.key_index, np.arange(24))
    paired = validate_sweep(make({**cfg.sweep, "paired": True}))
    np.testing.assert_array_equal(paired.key_index, paired.seed)
    assert "24 networks" in plan.describe()


def test_plan_without_sweep_section_is_seeds_only():
    plan = validate_sweep(config.parse({**copy.deepcopy(BASE), "run": {"seeds": 5}}))
    assert plan.n_networks == 5 and plan.paths == () and len(plan.groups) == 1
    assert validate_sweep(make({"seeds": 7})).n_networks == 7  # [sweep] overrides


def test_random_draws_are_deterministic_and_in_bounds():
    section = {
        "seeds": 1,
        "random": {
            "n": 500,
            "model.noise": {"dist": "loguniform", "low": 0.1, "high": 10.0},
            "model.strength": {"dist": "uniform", "low": 5, "high": 25},
        },
    }
    a = validate_sweep(make(section))
    b = validate_sweep(make(section))
    noise, amp = a.values["model.noise"], a.values["model.strength"]
    np.testing.assert_array_equal(noise, b.values["model.noise"])
    assert noise.min() >= 0.1 and noise.max() <= 10.0
    assert amp.min() >= 5 and amp.max() <= 25
    # log-uniform: about half the draws below the geometric mean 1
    assert 0.4 < np.mean(noise < 1.0) < 0.6
    assert 0.4 < np.mean(amp < 15.0) < 0.6
    other = validate_sweep(
        make({**section, "random": {**section["random"], "seed": 9}})
    )
    assert not np.array_equal(other.values["model.noise"], noise)


def test_nested_toml_tables_are_accepted():
    text = """
    [model]
    n = 8
    [protocol]
    name = "erosion"
    t_insert = 20.0
    t_end = 40.0
    save_every = 10.0
    [sweep]
    seeds = 2
    [sweep.grid]
    model.beta = [0.1, 0.2]
    [sweep.random]
    n = 3
    model.noise = { dist = "uniform", low = 0.5, high = 1.5 }
    """
    plan = validate_sweep(config.parse(tomllib.loads(text)))
    assert plan.paths == ("model.beta", "model.noise") and plan.n_networks == 12


def test_example_config_validates():
    cfg = config.load(ROOT / "examples" / "sweep_noise_homeostasis.toml")
    plan = validate_sweep(cfg)
    assert set(plan.paths) == {"model.noise", "model.beta"}
    assert plan.seeds > 1 and plan.static == ()


# ------------------------------------------------------------ determinism
def test_bitwise_identical_across_chunk_sizes_and_groups():
    # eta is swept (one value) so that the dissipation group has the structure
    # of BAD's and reuses its compiled call
    section = {
        "seeds": 4,
        "grid": {
            "model.rule": ["dissipation", "rate_control"],
            "model.eta": [0.01],
            "model.beta": [0.05, 0.2],
        },
    }
    results = {
        c: sweep(make(section, chunk_size=c), None, quiet=True) for c in (1, 7, 64)
    }
    ref = _arrays(results[1])
    assert ref["status"].tolist() == [0] * 16
    assert np.all(np.isfinite(ref["w_std"]))
    for c in (7, 64):
        _assert_bitwise(ref, _arrays(results[c]))
    # the two rules really are different groups with different dynamics
    w = ref["w_std"][:, -1]
    assert not np.allclose(w[:8], w[8:])


def test_keys_match_network_keys():
    import jax.random as jr

    plan = validate_sweep(make({"seeds": 3}))
    root = jr.key(0)
    ours = [jr.key_data(jr.fold_in(root, int(i))) for i in plan.key_index]
    ref = jr.key_data(network_keys(0, 3))
    np.testing.assert_array_equal(np.stack(ours), np.asarray(ref))


# ------------------------------------------------------ failure isolation
def test_divergence_is_isolated_and_masked(stored):
    out, bad = stored
    good = sweep(make(GOOD, chunk_size=4), None, quiet=True)
    status = bad.status
    eta = bad.plan.values["model.eta"]
    assert np.all(status[eta > 1] == 2) and np.all(status[eta < 1] == 0)
    a, b = _arrays(bad), _arrays(good)
    n_good = good.plan.n_networks
    for k in b:
        if k == "status":
            continue
        assert np.all(np.isnan(a[k][eta > 1])), k  # masked
        # the other networks are exactly what they are without the bad ones
        assert a[k][:n_good].tobytes() == b[k].tobytes(), k
    s = bad.summary
    assert s["nonfinite"] == 6 and s["ok"] == 6
    assert s["diverged_where"]["model.eta"] == {"1e+07": [6, 6]}
    assert s["diverged_where"]["model.beta"] == {"0.05": [3, 6], "0.2": [3, 6]}


# ------------------------------------------------------------------ store
def test_store_opens_in_xarray_with_coords(stored):
    xr = pytest.importorskip("xarray")
    out, result = stored
    assert result.path == out / "results.zarr"
    ds = xr.open_zarr(result.path)
    assert ds.attrs["complete"] is True
    assert ds.attrs["config"]["sweep"]["grid"]["model.eta"] == [0.01, 1e7]
    assert ds.sizes["network"] == 12 and ds.sizes["time"] == 5
    for c in ("model.eta", "model.beta", "seed"):
        assert c in ds.coords and ds[c].dims == ("network",)
    np.testing.assert_array_equal(ds["time"].values, [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(ds["seed"].values, np.tile([0, 1, 2], 4))
    assert ds["mem_im"].dims == ("network", "time", "plane")
    assert ds["w_std"].dims == ("network", "time")
    assert ds["status"].values.tolist() == result.status.tolist()
    sel = ds.where(ds["model.eta"] == 0.01, drop=True)
    assert np.all(np.isfinite(sel["w_std"].values))
    assert ds.attrs["summary"]["ok"] == 6
    assert (out / "sweep_summary.txt").is_file()


def test_rerun_resumes_and_other_config_is_refused(stored, capsys):
    out, first = stored
    before = ResultStore.open(first.path).attrs
    again = sweep(make(BAD, chunk_size=5), out, quiet=True)  # nothing pending
    assert "compiling" not in capsys.readouterr().err
    _assert_bitwise(_arrays(first), _arrays(again))
    after = ResultStore.open(first.path).attrs
    assert after["created"] == before["created"] and len(after["resumed"]) == 1
    other = make({**BAD, "seeds": 2}, chunk_size=5)
    with pytest.raises(StoreConfigMismatch, match="--overwrite"):
        sweep(other, out, quiet=True)
    assert ResultStore.open(first.path).n_networks == 12  # untouched


# ------------------------------------------------------------------- plot
def _plot_args(argv):
    parser = argparse.ArgumentParser()
    add_plot_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["plot", *argv])


def test_plot_line_and_heatmap(stored, tmp_path):
    out, _ = stored
    line = tmp_path / "line.png"
    args = _plot_args([str(out), "--x", "beta", "--var", "w_std", "--out", str(line)])
    assert args.func is plot_main
    assert plot_main(args) == 0 and line.stat().st_size > 1000
    heat = tmp_path / "heat.png"
    argv = [str(out), "--x", "model.beta", "--y", "model.eta", "--var", "mem_im"]
    argv += ["--time", "30", "--isel", "plane=0", "--abs", "--out", str(heat)]
    assert plot_main(_plot_args(argv)) == 0 and heat.stat().st_size > 1000
    with pytest.raises(ValueError, match="did you mean 'w_std'"):
        plot_main(
            _plot_args([str(out), "--x", "beta", "--var", "w_sd", "--out", "x.png"])
        )
    with pytest.raises(ValueError, match="not a swept parameter"):
        plot_main(
            _plot_args([str(out), "--x", "zeta", "--var", "w_std", "--out", "x.png"])
        )
