"""What a user sees: a fast --help, self-describing results, reports that
group by every swept parameter, and summaries that say what their values are."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sleepjax.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_help_does_not_import_jax():
    code = (
        "import sys\n"
        "from sleepjax.cli import main\n"
        "for a in (['--help'], ['run', '--help'], ['demo', '--help'], "
        "['plot', '--help'], ['fit', '--help'], ['--version']):\n"
        "    try:\n"
        "        main(a)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('jax' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("False")
    assert "sleepjax 0." in r.stdout  # --version


def _shrunk_example(tmp_path) -> Path:
    raw = tomllib.loads(
        (ROOT / "examples" / "sweep_noise_homeostasis.toml").read_text()
    )
    raw["model"]["n"] = 8
    raw["protocol"].update(t_insert=20.0, t_end=60.0, save_every=10.0)
    raw["sweep"] = {
        "seeds": 2,
        "grid": {"model.noise": [0.5, 2.0], "model.beta": [0.05, 0.4]},
    }
    lines = []
    for section, table in raw.items():
        lines.append(f"[{section}]")
        for k, v in table.items():
            if isinstance(v, dict):
                inner = ", ".join(f'"{a}" = {b!r}' for a, b in v.items())
                lines.append(f"{k} = {{ {inner} }}")
            elif isinstance(v, bool):
                lines.append(f"{k} = {str(v).lower()}")
            elif isinstance(v, str):
                lines.append(f'{k} = "{v}"')
            else:
                lines.append(f"{k} = {v!r}")
    cfg = tmp_path / "sweep.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user")
    out = tmp / "out"
    assert main(["run", str(_shrunk_example(tmp)), "--out", str(out), "--quiet"]) == 0
    return out


def test_example_sweep_report_has_one_row_per_parameter_group(example_run):
    text = (example_run / "summary.txt").read_text()
    assert "no finished networks" not in text
    rows = [line for line in text.splitlines() if line.startswith("dissipation,")]
    assert len(rows) == 4  # noise × beta
    assert any("noise=0.5, beta=0.05" in r for r in rows)
    sweep_text = (example_run / "sweep_summary.txt").read_text()
    assert "mean over each row's finished networks" in sweep_text


def test_every_stored_variable_describes_itself(example_run):
    xr = pytest.importorskip("xarray")
    ds = xr.open_zarr(example_run / "results.zarr")
    for name, var in ds.data_vars.items():
        assert var.attrs.get("long_name"), name
        assert "units" in var.attrs, name
    assert ds["time"].attrs["units"].startswith("τ")
    assert "plane" in ds.coords and list(ds["plane"].values) == [0]
    resolved = ds.attrs["resolved"]
    assert resolved["model"]["rule"] == "dissipation"
    assert resolved["protocol"]["t_insert"] == 20.0
    assert "eta" in resolved["model"] and "tau_y" not in resolved["model"]  # unused
    # memory observables are NaN until the memory exists, finite after
    t = ds["time"].values
    mem = ds["mem_im"].values[..., 0]
    assert np.all(np.isnan(mem[:, t <= 20])) and np.all(np.isfinite(mem[:, t > 20]))


def test_plot_lists_observables_and_labels_axes(example_run, tmp_path, capsys):
    assert main(["plot", str(example_run), "--list"]) == 0
    out = capsys.readouterr().out
    assert "mem_im: Im λ of the memory eigenvalue [1/τ]" in out
    assert "model.noise" in out
    fig = tmp_path / "p.png"
    argv = ["plot", str(example_run), "--x", "noise", "--var", "mem_im", "--abs"]
    assert main([*argv, "--sel", "beta=0.05", "--out", str(fig)]) == 0
    assert fig.stat().st_size > 5000
    assert main(["plot", str(example_run), "--x", "noise"]) == 2  # --var missing
    assert "--list" in capsys.readouterr().err
