"""The state saved next to the observables: `[run] snapshot_times`,
`snapshot_leaves`, `save_final`; several save grids in `iterate` and
`Experiment.run`; and the figures drawn from saved states (`sleepjax plot
--kind spectrum | activity`)."""

from __future__ import annotations

import copy

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from refusal import assert_refused, dump_toml
from toy_models import ToyMap

import sleepjax as sj
from sleepjax.cli import main
from sleepjax.config import parse
from sleepjax.sweep import ResultStore

N = 12
RAW = {
    "model": {"name": "susman", "n": N, "dt": 0.1, "rule": "rate_control"},
    "protocol": {
        "name": "erosion",
        "code": "imaginary",
        "save_insertion": True,
        "t_insert": 20.0,
        "t_end": 40.0,
        "save_every": 10.0,
    },
    "run": {
        "seeds": 3,
        "snapshot_times": [10.0, 20.0, 20.1, 40.0],
        "snapshot_leaves": ["W"],
        "save_final": True,
    },
}


# ------------------------------------------------------------ several grids
def _toy():
    W = jr.normal(jr.key(1), (5, 5)) / 3
    one = jnp.asarray(1.0)
    return ToyMap(W=W, gain=0.9 * one, leak=0.2 * one, sigma=0.1 * one)


def test_iterate_with_two_grids_equals_two_single_grid_runs():
    model, y0 = _toy(), {"x": jnp.ones(5)}
    ta, tb = np.array([0.0, 3.0, 7.0, 10.0]), np.array([2.0, 7.0, 9.0, 12.0])

    def f(t, y, m):
        return {"s": jnp.sum(y["x"]), "t": t}

    kw = dict(t0=0.0, t1=12.0, dt=1.0, key=jr.key(0))
    a = sj.iterate(model, y0, save_ts=ta, fn=f, **kw)
    b = sj.iterate(model, y0, save_ts=tb, **kw)
    both = jax.jit(lambda m: sj.iterate(m, y0, save_ts=(ta, tb), fn=(f, None), **kw))(
        model
    )
    np.testing.assert_allclose(both.ys[0]["s"], a.ys["s"], rtol=1e-6)
    np.testing.assert_array_equal(both.ys[0]["t"], ta)
    np.testing.assert_allclose(both.ys[1]["x"], b.ys["x"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(both.ts[1]), tb)
    # the last grid time is t1: the saved state is the final state
    np.testing.assert_allclose(both.ys[1]["x"][-1], both.final["x"], rtol=1e-6)
    # the same through a SaveAt with subs (made outside jit)
    save = diffrax.SaveAt(
        subs=(diffrax.SubSaveAt(ts=ta, fn=f), diffrax.SubSaveAt(ts=tb))
    )
    c = sj.iterate(model, y0, saveat=save, **kw)
    np.testing.assert_array_equal(c.ys[1]["x"], both.ys[1]["x"])
    # and it differentiates
    g = jax.grad(
        lambda m: (
            sj.iterate(m, y0, save_ts=(ta, tb), fn=(f, None), **kw).ys[1]["x"].sum()
        )
    )(model)
    assert np.isfinite(float(g.gain)) and float(g.gain) != 0.0


def test_experiment_snapshots_match_runs_that_stop_there():
    """A snapshot at t is the state a run stopped at t ends in (same noise:
    the Brownian increments are drawn per step), for a continuous model."""
    cfg = parse(copy.deepcopy(RAW))
    exp = cfg.build(key=jr.key(3))
    times = np.array([10.0, 30.0])

    def select(t, y, m):
        return y.W

    sim = exp.run(jr.key(4), snapshots=(times, select))
    assert sim.snapshots.shape == (2, N, N)
    for k, t in enumerate(times):
        short = sj.simulate(
            exp.model,
            exp.state0,
            t0=exp.t0,
            t1=float(t),
            dt=exp.dt,
            key=jr.key(4),
            events=[e for e in exp.events if e.time <= t],
        )
        np.testing.assert_allclose(sim.snapshots[k], short.final.W, atol=2e-5)
    plain = exp.run(jr.key(4))
    np.testing.assert_allclose(sim.ys["w_std"], plain.ys["w_std"], rtol=1e-5)
    with pytest.raises(ValueError, match="inside the run"):
        exp.run(jr.key(4), snapshots=(np.array([50.0]), select))


# ------------------------------------------------------------ through the CLI
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("snap")
    (d / "c.toml").write_text(dump_toml(RAW))
    assert main(["run", str(d / "c.toml"), "--out", str(d / "out"), "--quiet"]) == 0
    return d / "out"


def test_store_holds_snapshots_and_final_state(store):
    s = ResultStore.open(store / "results.zarr")
    snap, final = s.read("snapshot_W"), s.read("final_W")
    assert snap.shape == (3, 4, N, N) and final.shape == (3, N, N)
    np.testing.assert_array_equal(s.read("snapshot_time"), RAW["run"]["snapshot_times"])
    # the last snapshot is at t_end: the final state
    np.testing.assert_array_equal(snap[:, -1], final)
    # t = t_insert sees the state before the insertion, one step later after it
    jump = np.abs(snap[:, 2] - snap[:, 1]).max(axis=(1, 2))
    drift = np.abs(snap[:, 1] - snap[:, 0]).max(axis=(1, 2))
    assert np.all(jump > 5 * drift / 100)
    # the saved memory eigenvalue is an eigenvalue of the saved W
    t, k_snap = s.read("time"), 2
    k_save = int(np.argmin(np.abs(t - 20.1)))
    assert abs(t[k_save] - 20.1) < 1e-6
    for i in range(3):
        ev = np.linalg.eigvals(snap[i, k_snap].astype(np.float64))
        lam = s.read("mem_re")[i, k_save, 0] + 1j * s.read("mem_im")[i, k_save, 0]
        assert np.min(np.abs(ev - lam)) < 1e-3 * max(1.0, abs(lam))
    ds = s.to_xarray()
    assert ds["snapshot_W"].dims == ("network", "snapshot_time", "post", "pre")
    assert ds["final_W"].attrs["units"] == "1/τ"
    assert ds["snapshot_time"].attrs["units"].startswith("τ")
    for name in ("snapshot_W", "final_W"):
        assert {"long_name", "units", "description"} <= set(ds[name].attrs)
    # the summary table lists observables only
    assert "snapshot_W" not in (store / "sweep_summary.txt").read_text()


def test_every_leaf_by_default_and_grids_from_a_table(tmp_path):
    raw = copy.deepcopy(RAW)
    raw["run"] = {"snapshot_times": {"start": 0.0, "every": 20.0}}
    cfg = parse(raw)
    from sleepjax._snapshots import StateOutputs

    outs = StateOutputs.of(cfg.run, cfg.check_build())
    assert outs.times == (0.0, 20.0, 40.0)
    assert "W" in outs.leaves and "neurons" in outs.leaves
    assert not outs.final


def test_spectrum_and_activity_figures(store, tmp_path):
    out = tmp_path / "spec.png"
    assert main(
        ["plot", str(store), "--kind", "spectrum", "--var", "snapshot_W",
         "--time", "10,20.1", "--out", str(out)]
    ) == 0  # fmt: skip
    assert out.stat().st_size > 10_000
    # an activity figure of a matrix over time: each row a post-synaptic neuron
    act = tmp_path / "act.png"
    assert main(
        ["plot", str(store), "--kind", "raster", "--var", "snapshot_W",
         "--isel", "pre=0", "--network", "2", "--out", str(act)]
    ) == 0  # fmt: skip
    assert act.stat().st_size > 5_000


@pytest.mark.parametrize(
    "args, match",
    [
        (["--kind", "spectrum", "--var", "mem_re"], "square matrix"),
        (["--kind", "spectrum", "--var", "snapshot_W", "--time", "99"], "outside"),
        (["--kind", "spectrum", "--var", "snapshot_w"], "did you mean"),
        (["--kind", "raster", "--var", "final_W"], "over time and neurons"),
        (["--kind", "raster", "--var", "snapshot_W", "--network", "3"], "range"),
        (["--kind", "raster", "--out", "x.png"], "needs --var"),
    ],
)
def test_plot_state_refusals(store, tmp_path, capsys, args, match):
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "f.png")]
    assert main(["plot", str(store), *args]) != 0
    assert match in capsys.readouterr().err
    assert not (tmp_path / "f.png").exists()


def test_raster_for_spikes(tmp_path):
    """0/1 activity is drawn as a raster (and the store API handles any
    variable over snapshot_time and neurons)."""
    from sleepjax.plot import plot_activity

    rng = np.random.default_rng(0)
    spikes = (rng.random((1, 50, 20)) < 0.1).astype(np.int8)
    path = tmp_path / "r.zarr"
    s = ResultStore.create(
        path,
        config={"x": 1},
        n_networks=1,
        chunk_size=1,
        coords={"seed": [0]},
        time=np.arange(50.0),
        variables={"spikes": (("time", "neuron"), (50, 20), "int8")},
    )
    s.write_chunk(0, {"spikes": spikes}, np.zeros(1, np.int8))
    out = plot_activity(path, var="spikes", out=tmp_path / "r.png")
    assert out.stat().st_size > 5_000


@pytest.mark.parametrize(
    "run, match",
    [
        ({"snapshot_times": [10.0, 99.0]}, r"snapshot_times: 99 lies outside"),
        ({"snapshot_times": [10.05]}, r"not on the run's step grid"),
        ({"snapshot_times": [20.0, 10.0]}, r"must be increasing"),
        (
            {"solver": "multirate", "substeps": 10, "snapshot_times": [20.1]},
            r"not on the run's step grid t0 \+ k·dt \(t0 = 0, dt = 1\)",
        ),
        ({"snapshot_times": "end"}, r"snapshot_times must be a non-empty list"),
        ({"snapshot_times": {"every": -1.0}}, r"every must be > 0"),
        ({"snapshot_times": {"every": 1.0, "step": 2}}, r"takes start, stop"),
        ({"snapshot_times": [10.0], "snapshot_leaves": ["w"]}, r"'w' is not a leaf"),
        ({"snapshot_times": [10.0], "snapshot_leaves": "W"}, r"list of state leaf"),
        ({"save_final": 1}, r"save_final must be true or false"),
        (
            {"snapshot_times": {"every": 0.1}, "memory_budget_mb": 0.2},
            r"MiB per network, more than a quarter of the memory budget",
        ),
    ],
)
def test_bad_snapshot_settings_are_refused(run, match, tmp_path, capsys):
    raw = copy.deepcopy(RAW)
    raw["run"] = run
    assert_refused(raw, match, tmp_path, capsys)
