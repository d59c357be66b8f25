"""End-to-end CLI tests: demo at a tiny size, run on an example, bad input."""

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sleepjax.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from refusal import dump_toml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path, raw: str) -> Path:
    p = tmp_path / "cfg.toml"
    p.write_text(raw)
    return p


def test_demo_tiny(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(
        [
            "demo",
            "--out",
            str(out),
            "--seeds",
            "2",
            "--n",
            "16",
            "--t-insert",
            "20",
            "--t-end",
            "60",
            "--quiet",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "imaginary outlived real" in text
    for rule in ("dissipation", "rate_control", "decorrelation"):
        assert rule in text
    assert (out / "figure.png").stat().st_size > 10_000
    xr = pytest.importorskip("xarray")
    ds = xr.open_zarr(out / "results.zarr")
    assert ds.attrs["complete"] is True
    assert ds.sizes["network"] == 3 * 2 * 2
    assert set(np.unique(ds["status"].values)) == {0}
    assert "versions" in ds.attrs and "config" in ds.attrs
    # results are real numbers, not placeholders: the memory is inserted at t=20
    mem = np.abs(ds["mem_im"].values[..., 0])
    t = ds["time"].values
    # finite once the memory exists, NaN (not defined) before its insertion
    assert np.all(np.isfinite(mem[:, t > 20])) and np.all(np.isnan(mem[:, t <= 20]))
    assert 20.1 in np.round(t, 6)  # the moment of insertion is saved
    code = np.array([str(c) for c in ds["protocol.code"].values])
    assert sorted({str(r) for r in ds["model.rule"].values}) == [
        "decorrelation",
        "dissipation",
        "rate_control",
    ]
    imag = code == "imaginary"
    after = t > 20
    assert np.median(mem[imag][:, after]) > 2.0  # 5(uvᵀ−vuᵀ) gives |Im λ| ≈ 5


def _example(name: str, **sections) -> dict:
    """An example config with some settings replaced (to shrink it)."""
    raw = tomllib.loads((ROOT / "examples" / f"{name}.toml").read_text())
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return raw


EXAMPLES = ("erosion", "learning", "limit_cycle", "life_cycle")


@pytest.mark.parametrize("name", EXAMPLES + ("sweep_noise_homeostasis",))
def test_example_configs_are_valid(name):
    """Every shipped example parses, validates and builds (nothing is run)."""
    from sleepjax.config import load
    from sleepjax.sweep import validate_sweep

    cfg = load(ROOT / "examples" / f"{name}.toml")
    validate_sweep(cfg)
    assert cfg.protocol == name or name == "sweep_noise_homeostasis"


def test_run_limit_cycle_example(tmp_path, capsys):
    """The limit-cycle example, shrunk: γ = 0.9 decays, γ = 1.5 cycles with the
    reduced system's radius."""
    raw = _example(
        "limit_cycle",
        model={"n": 16},
        protocol={"t_end": 60.0, "n_planes": 1},
        sweep={"grid": {"protocol.gamma": [0.9, 1.5], "protocol.rho": [1.0]}},
    )
    cfg = _write(tmp_path, dump_toml(raw))
    out = tmp_path / "lc"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "decays" in text and "cycle" in text
    assert (out / "figure.png").stat().st_size > 10_000
    summary = (out / "summary.txt").read_text()
    assert "radius (2-D)" in summary
    # the run-wide settings that differ from the defaults are named; those
    # at their defaults (n_planes = 1) and the swept ones (gamma) are not
    (changed,) = [r for r in summary.splitlines() if r.startswith("Settings other")]
    assert "model.n = 16" in changed and "protocol.t_end = 60.0" in changed
    assert "n_planes" not in changed and "gamma" not in changed
    # `sleepjax report` draws the same figure and table again from the store
    (out / "figure.png").unlink()
    (out / "summary.txt").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "summary.txt").read_text() == summary
    assert (out / "figure.png").stat().st_size > 10_000
    other = tmp_path / "r"
    assert main(["report", str(out / "results.zarr"), "--out", str(other)]) == 0
    assert (other / "summary.txt").read_text() == summary
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no results at" in capsys.readouterr().err
    assert main(["report", str(out), "--memory-budget-mb", "1e-9"]) == 2
    assert "memory budget" in capsys.readouterr().err


def test_report_refuses_an_unfinished_run(tmp_path, capsys):
    """A store whose chunks are not all written is refused before anything is
    drawn, with how to finish it."""
    from test_store import _make, _write

    from sleepjax.sweep import ResultStore

    path = tmp_path / "results.zarr"
    store = ResultStore.create(path, **_make(path))
    _write(store, 0)  # 1 of 3 chunks
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not finished (1 of 3 chunks done)" in err and "resume" in err
    assert not (tmp_path / "figure.png").exists()
    assert not (tmp_path / "summary.txt").exists()


SHRUNK = {
    "learning": dict(
        model={"n": 16},
        protocol={"window": [10.0, 30.0], "t_end": 60.0, "save_every": 5.0},
        sweep={"seeds": 2},
    ),
    "life_cycle": dict(
        model={"n": 64},
        protocol={
            "windows": [[10.0, 20.0], [30.0, 40.0]],
            "t_retain": 50.0,
            "cue_gap": 10.0,
            "cue_window": 5.0,
        },
        sweep={"seeds": 2},
    ),
}


@pytest.mark.parametrize(
    "name",
    [
        "learning",
        # ~25 s on 2 cores; CI runs the life-cycle protocol in
        # tests/test_life_cycle.py and a plastic example's report here
        pytest.param("life_cycle", marks=pytest.mark.slow),
    ],
)
def test_run_plastic_examples_shrunk(tmp_path, capsys, name):
    """The learning and life-cycle examples at a tiny size and horizon: they
    run, draw their figure and write their summary (no science checked here)."""
    cfg = _write(tmp_path, dump_toml(_example(name, **SHRUNK[name])))
    out = tmp_path / name
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert (out / "figure.png").stat().st_size > 10_000
    summary = (out / "summary.txt").read_text()
    assert summary.split("\n\n")[0] in text
    key = "kept it to the end" if name == "learning" else "novel"
    assert key in summary


BAD = {
    "unknown key": (
        '[model]\nnn = 3\n[protocol]\nname = "erosion"\n',
        "did you mean 'n'",
    ),
    "unknown rule": (
        '[model]\nrule = "oja"\n[protocol]\nname = "erosion"\n',
        "unknown [model] rule",
    ),
    "non-positive dt": (
        '[model]\ndt = -0.1\n[protocol]\nname = "erosion"\n',
        "dt must be > 0",
    ),
    "non-positive horizon": (
        '[model]\nn = 16\n[protocol]\nname = "erosion"\nt_end = 0.0\n',
        "t_end must be > 0",
    ),
    "mismatched shapes": (
        '[model]\nn = 16\n[protocol]\nname = "learning"\nwindow = [1.0]\n',
        "2 entries",
    ),
    "NaN parameter": (
        '[model]\nbeta = nan\n[protocol]\nname = "erosion"\n',
        "beta must be finite",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_writes_nothing(tmp_path, capsys, case):
    raw, msg = BAD[case]
    cfg = _write(tmp_path, raw)
    out = tmp_path / "out"
    rc = main(["run", str(cfg), "--out", str(out), "--quiet"])
    assert rc != 0
    assert msg in capsys.readouterr().err
    assert not out.exists()


def test_missing_config_file(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", str(tmp_path / "missing.toml"), "--out", str(out)])
    assert rc != 0
    assert "not found" in capsys.readouterr().err
    assert not out.exists()


def test_console_script_entry_point():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "sleepjax.cli", "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "demo" in r.stdout and "run" in r.stdout
