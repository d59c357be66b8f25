"""`[run] initial_state`: one's own initial connectivity (or any leaf of the
initial state) read from .npy/.npz files, checked before anything runs."""

from __future__ import annotations

import jax.random as jr
import numpy as np
import pytest

from sleepjax.cli import main
from sleepjax.config import ConfigError, load
from sleepjax.sweep import validate_sweep

N = 8
BASE = f"""
[model]
name = "susman"
n = {N}
rule = "dissipation"
[protocol]
name = "erosion"
t_insert = 10.0
t_end = 20.0
save_every = 5.0
"""


def _cfg(tmp_path, run: str, extra: str = ""):
    path = tmp_path / "c.toml"
    path.write_text(BASE + "[run]\n" + run + extra)
    return path


def test_npz_replaces_the_named_leaves_for_every_network(tmp_path):
    W = np.random.default_rng(0).normal(size=(N, N)) / np.sqrt(N)
    np.savez(tmp_path / "start.npz", W=W)
    cfg = load(
        _cfg(tmp_path, 'initial_state = "start.npz"')
    )  # relative: c.toml's folder
    for key in (jr.key(1), jr.key(2)):
        state0 = cfg.build(key=key).state0
        np.testing.assert_array_equal(np.asarray(state0.W), W.astype(np.float32))
    # without the file the protocol draws its own random W
    plain = load(_cfg(tmp_path, ""))
    assert not np.allclose(np.asarray(plain.build().state0.W), W)
    # the stores' configuration names the file absolutely, with its digest
    rec = cfg.raw["run"]["initial_state"]
    assert rec["path"] == str((tmp_path / "start.npz").resolve())
    assert len(rec["sha256"]) == 64


def test_table_of_npy_files_and_sweep_groups(tmp_path):
    x0 = np.linspace(-1.0, 1.0, N)
    np.save(tmp_path / "x0.npy", x0)
    cfg = load(
        _cfg(
            tmp_path,
            'initial_state = { neurons = "x0.npy" }\n',
            '[sweep]\ngrid = { "model.rule" = ["dissipation", "rate_control"] }\n',
        )
    )
    np.testing.assert_allclose(np.asarray(cfg.build().state0.neurons), x0, rtol=1e-6)
    validate_sweep(cfg)  # every group is parsed again from the stored config


def test_a_changed_file_is_refused_on_resume(tmp_path):
    np.savez(tmp_path / "s.npz", W=np.zeros((N, N)))
    path = _cfg(tmp_path, 'initial_state = "s.npz"')
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-report"]) == 0
    np.savez(tmp_path / "s.npz", W=np.ones((N, N)) * 0.1)
    cfg = load(path)  # the file itself is fine ...
    from sleepjax.config import parse

    with pytest.raises(ConfigError, match="has changed"):
        parse(cfg.raw | {"run": {"initial_state": _old_record(out)}})


def _old_record(out):
    import json

    import zarr

    attrs = zarr.open_group(str(out / "results.zarr"), mode="r").attrs
    config = attrs["config"]
    config = json.loads(config) if isinstance(config, str) else config
    return config["run"]["initial_state"]


@pytest.mark.parametrize(
    "setup, run, match",
    [
        (lambda d: None, 'initial_state = "missing.npz"', "file not found"),
        (
            lambda d: np.savez(d / "s.npz", w=np.zeros((N, N))),
            'initial_state = "s.npz"',
            "did you mean 'W'",
        ),
        (
            lambda d: np.savez(d / "s.npz", W=np.zeros((N, N + 1))),
            'initial_state = "s.npz"',
            r"shape \(8, 9\)",
        ),
        (
            lambda d: np.savez(d / "s.npz", W=np.full((N, N), np.nan)),
            'initial_state = "s.npz"',
            "NaN",
        ),
        (
            lambda d: np.save(d / "w.npy", np.zeros((N, N))),
            'initial_state = "w.npy"',
            "say which leaf",
        ),
        (lambda d: None, "initial_state = 3", "must be the path"),
    ],
    ids=["missing", "unknown leaf", "shape", "nan", "npy without a name", "number"],
)
def test_bad_initial_state_is_refused_before_anything_runs(
    tmp_path, capsys, setup, run, match
):
    setup(tmp_path)
    path = _cfg(tmp_path, run + "\n")
    with pytest.raises(ConfigError, match=match) as e:
        load(path)
    assert "JAX" not in str(e.value)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not out.exists()
