"""A model defined outside the package (tests/toy_models.py), registered at
run time, runs through config, sweep (TOML and Python) and fit without any
change to sleepjax; bad input for it is refused like the built-in models'."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import toy_models as toy  # noqa: E402

import sleepjax as sj  # noqa: E402
import sleepjax.fit as sf  # noqa: E402
from sleepjax import config  # noqa: E402
from sleepjax.cli import main  # noqa: E402
from sleepjax.sweep import grid, sweep, validate_sweep  # noqa: E402

BASE = {
    "model": {"name": "toy_map", "n": 6},
    "protocol": {"name": "run", "t_end": 12.0, "save_every": 4.0},
    "sweep": {"seeds": 3, "grid": {"model.gain": [0.5, 1.5]}},
}


@pytest.fixture(autouse=True, scope="module")
def registered():
    toy.register_all()
    yield
    toy.unregister_all()


def test_registered_models_are_listed_and_parsed():
    assert {"toy_map", "toy_ode"} <= set(sj.registered_models())
    cfg = config.parse(BASE)
    assert cfg.model == "toy_map" and cfg.options.n == 6
    exp = cfg.build()
    assert exp.discrete and exp.save_ts == (0.0, 4.0, 8.0, 12.0)
    from sleepjax.cli import describe_models

    text = describe_models()
    assert "toy_map: a discrete-time noisy rate map" in text
    assert "gain=0.9" in text


def test_toml_and_python_sweeps_agree_bitwise():
    res = sweep(config.parse(BASE), None, quiet=True)
    assert res.data["x_mean"].shape == (6, 4) and res.data["x_first"].shape == (6, 4, 2)
    assert res.dims["x_first"] == ("time", "unit")
    assert np.all(res.status == 0)
    opts = toy.ToyOptions(n=6)

    def build(p, key):
        return toy.run_map(opts, p, key, t_end=12.0, save_every=4.0)

    py = sweep(
        build, grid(gain=[0.5, 1.5]), params=toy.ToyParams(), seeds=3, quiet=True
    )
    for k in res.data:
        assert res.data[k].tobytes() == py.data[k].tobytes(), k
    # network i is exactly one run with key fold_in(key(seed), i)
    i = 4  # gain 1.5, seed 1
    k_init, k_noise = jr.split(jr.fold_in(jr.key(0), i))
    one = build(toy.ToyParams(gain=1.5), k_init).run(k_noise)
    np.testing.assert_allclose(one.ys["x_sq"], res.data["x_sq"][i], rtol=1e-5)
    # the gain matters
    assert not np.allclose(res.data["x_sq"][0], res.data["x_sq"][3])


def test_fit_recovers_the_gain_of_a_registered_model():
    opts = toy.ToyOptions(n=6, dt=0.1)

    def build(p):
        return toy.run_ode(opts, p, jr.key(3), t_end=4.0, save_every=0.5)

    true = toy.ToyParams(gain=1.2, sigma=0.05)
    data = sf.simulate_data(build, true, key=1)
    assert set(data.ys) == {"x_mean", "x_sq", "x_first"}
    res = sf.fit(
        build,
        toy.ToyParams(gain=0.6, sigma=0.05),
        data,
        {"gain": "positive"},
        optimizer=__import__("optax").adam(0.05),
        steps=150,
        progress=False,
    )  # default loss: the observables' default_fit family ("activity")
    assert res.relative_error()["gain"] < 0.02, res.summary()


def test_fit_config_of_a_registered_model_validates():
    from sleepjax.fit._config import validate

    doc = copy.deepcopy(BASE)
    doc.pop("sweep")
    doc["model"] = {"name": "toy_ode", "n": 6, "dt": 0.1}
    doc["protocol"] = {"name": "run", "t_end": 2.0, "save_every": 0.5}
    doc["fit"] = {"params": ["gain"], "steps": 2, "loss": {"observables": ["activity"]}}
    cfg = validate(doc)
    assert cfg.loss.observables == ("activity",)
    doc["fit"]["params"] = ["leak"]  # the ODE has no leak
    with pytest.raises(sj.ConfigError, match="leak is fitted but not used"):
        validate(doc)


BAD = [
    (
        {"model": {"name": "toy_mpa"}},
        "unknown model 'toy_mpa' (did you mean 'toy_map'?)",
    ),
    ({"model": {"name": "toy_map", "gian": 1.0}}, "did you mean 'gain'"),
    ({"model": {"name": "toy_map", "sigma": -0.1}}, "sigma must be >= 0"),
    ({"model": {"name": "toy_map", "n": 1}}, "n must be an integer >= 2"),
    ({"protocol": {"name": "rn"}}, "did you mean 'run'"),
    ({"protocol": {"name": "run", "t_end": 12.5}}, "not a whole number of steps"),
    ({"model": {"name": "toy_map", "tau": 3.0}}, "tau is set in [model] but not used"),
    ({"sweep": {"grid": {"model.tau": [1.0, 2.0]}}}, "tau is swept but not used"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_input_is_refused_before_anything_runs(tmp_path, capsys, change, message):
    raw = copy.deepcopy(BASE)
    for section, values in change.items():
        raw[section] = {**raw.get(section, {}), **values}
        if section == "sweep":
            raw[section] = values
    with pytest.raises(sj.ConfigError) as e:
        validate_sweep(config.parse(raw))
    assert message in str(e.value)
    # through the CLI: exit 2, the message, nothing written
    lines = []
    for section, table in raw.items():
        lines.append(f"[{section}]")
        for k, v in table.items():
            if isinstance(v, dict):
                inner = ", ".join(f'"{a}" = {b!r}' for a, b in v.items())
                lines.append(f"{k} = {{ {inner} }}")
            else:
                lines.append(f"{k} = {v!r}".replace("'", '"'))
    cfg = tmp_path / "bad.toml"
    cfg.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_register_refuses_a_second_model_of_the_same_name():
    with pytest.raises(ValueError, match="already registered"):
        sj.register(
            sj.ModelSpec(
                name="toy_map",
                title="another",
                options=toy.ToyOptions,
                params=toy.ToyParams,
                protocols={"run": sj.Protocol(toy.run_map)},
            )
        )


def test_the_map_runs_under_grad():
    """A discrete model is differentiable end to end (noise held fixed)."""
    opts = toy.ToyOptions(n=4)

    def loss(gain):
        exp = toy.run_map(opts, toy.ToyParams(gain=gain), jr.key(1), t_end=6.0)
        return jnp.sum(exp.run(jr.key(2)).ys["x_sq"])

    g = jax.grad(loss)(jnp.asarray(0.9))
    assert np.isfinite(g) and g != 0


def test_a_broken_model_does_not_hide_the_others(monkeypatch):
    from importlib import metadata

    import sleepjax._registry as reg

    eps = [
        metadata.EntryPoint("broken", "no_such_module_here:SPEC", reg.GROUP),
        *metadata.entry_points(group=reg.GROUP),
    ]
    monkeypatch.setattr(reg, "_MODELS", {})
    monkeypatch.setattr(reg, "_FAILED", {})
    monkeypatch.setattr(reg, "_LOADED", False)
    monkeypatch.setattr(reg.metadata, "entry_points", lambda group: eps)
    assert "susman" in reg.registered_models()
    with pytest.raises(sj.ConfigError, match="'broken' could not be loaded"):
        reg.get_model("broken")
