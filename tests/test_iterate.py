"""The discrete-time stepper `iterate` and its sweeps: an independent NumPy
transcription, save grids and events, gradients against finite differences,
and the sweep guarantees of the continuous path (bitwise independence of the
chunk size and the device count, failure isolation, resume)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import toy_models as toy  # noqa: E402

import sleepjax as sj  # noqa: E402
import sleepjax.fit as sf  # noqa: E402
from sleepjax import config  # noqa: E402
from sleepjax.stimuli import AbstractEvent  # noqa: E402
from sleepjax.sweep import ResultStore, sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "model": {"name": "toy_map", "n": 6},
    "protocol": {"name": "run", "t_end": 12.0, "save_every": 4.0},
    "sweep": {"seeds": 10, "grid": {"model.gain": [0.5, 1.5]}},
}


@pytest.fixture(autouse=True, scope="module")
def registered():
    toy.register_all()
    yield
    toy.unregister_all()


def _map(n=5, gain=0.9, leak=0.3, sigma=0.2):
    W = jr.normal(jr.key(7), (n, n)) / np.sqrt(n)
    return toy.ToyMap(W, jnp.asarray(gain), jnp.asarray(leak), jnp.asarray(sigma))


def test_iterate_matches_a_numpy_transcription(x64):
    model = _map()
    y0 = {"x": jr.normal(jr.key(1), (5,))}
    key = jr.key(11)
    steps = 25
    sim = sj.iterate(
        model, y0, t0=0.0, t1=float(steps), dt=1.0, key=key, save_ts=np.arange(26.0)
    )
    assert int(sim.status) == 0
    # NumPy: the same update with the same uniforms u_k = U(fold_in(key, k))
    W = np.asarray(model.W)
    x = np.asarray(y0["x"])
    ref = [x]
    for k in range(steps):
        u = np.asarray(jr.uniform(jr.fold_in(key, k), (5,), jnp.float64))
        x = (1 - 0.3) * x + 0.9 * np.tanh(W @ x) + 0.2 * (u - 0.5)
        ref.append(x)
    np.testing.assert_allclose(np.asarray(sim.ys["x"]), np.stack(ref), atol=1e-12)
    np.testing.assert_allclose(np.asarray(sim.final["x"]), ref[-1], atol=1e-12)


def test_irregular_save_times_and_events():
    model = _map()
    y0 = {"x": jnp.ones(5)}
    key = jr.key(2)

    def run(save_ts, events=()):
        return sj.iterate(
            model, y0, t0=0.0, t1=12.0, dt=1.0, key=key, save_ts=save_ts, events=events
        )

    every = run(np.arange(13.0)).ys["x"]
    some = [0.0, 1.0, 2.0, 5.0, 11.0, 12.0]
    np.testing.assert_allclose(run(some).ys["x"], every[np.asarray(some, int)], 1e-5)

    class Reset(AbstractEvent):
        def apply(self, y):
            return {"x": jnp.zeros_like(y["x"])}

    ys = run(np.arange(13.0), (Reset(6.0),)).ys["x"]
    np.testing.assert_allclose(ys[:7], every[:7], 1e-5)  # the save at 6 sees before
    one = model.step(6.0, {"x": jnp.zeros(5)}, jr.fold_in(key, 6))["x"]
    np.testing.assert_allclose(ys[7], one, rtol=1e-6)
    with pytest.raises(ValueError, match="not on the step grid"):
        run([0.5])
    with pytest.raises(TypeError, match="AbstractMap"):
        sj.iterate(toy.ToyODE(model.W, 1.0, 1.0, 0.0), y0, t0=0, t1=1, dt=1)


def test_gradient_through_the_map_matches_finite_differences(x64):
    opts = toy.ToyOptions(n=5)

    def build(p):
        return toy.run_map(opts, p, jr.key(3), t_end=10.0, save_every=2.0)

    data = sf.simulate_data(build, toy.ToyParams(gain=0.8, sigma=0.3), key=1)
    start = toy.ToyParams(gain=1.1, leak=0.4, sigma=0.2)
    obj = sf.objective(
        build, start, data, {"gain": "positive", "leak": None, "sigma": "positive"}
    )
    flat, unravel = jax.flatten_util.ravel_pytree(obj.raw0)
    g, _ = jax.flatten_util.ravel_pytree(jax.grad(obj)(obj.raw0))
    h = 1e-6
    eye = np.eye(flat.size)
    fd = np.array(
        [
            (obj(unravel(flat + h * e)) - obj(unravel(flat - h * e))) / (2 * h)
            for e in eye
        ]
    )
    assert np.all(np.abs(g) > 0)
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_fit_recovers_parameters_of_the_map():
    opts = toy.ToyOptions(n=5)

    def build(p):
        return toy.run_map(opts, p, jr.key(3), t_end=10.0, save_every=1.0)

    data = sf.simulate_data(build, toy.ToyParams(gain=0.8, leak=0.4), key=1)
    res = sf.fit(
        build,
        toy.ToyParams(gain=1.0, leak=0.3),
        data,
        {"gain": "positive", "leak": "positive"},
        optimizer=optax.adam(0.03),
        steps=150,
        progress=False,
    )
    err = res.relative_error()
    assert err["gain"] < 0.02 and err["leak"] < 0.02, res.summary()


# ------------------------------------------------------------------ sweeps
def _arrays(result) -> dict[str, np.ndarray]:
    if result.path is not None:
        store = result.store
        out = {k: store.read(k) for k in store.variables}
    else:
        out = dict(result.data)
    out["status"] = np.asarray(result.read("status"))
    return out


def _same_bits(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


def _cfg(chunk=0, **sweep_section):
    raw = copy.deepcopy(BASE)
    raw["sweep"].update(sweep_section)
    if chunk:
        raw["run"] = {"chunk_size": chunk}
    return config.parse(raw)


def test_bitwise_identical_across_chunk_sizes():
    ref = _arrays(sweep(_cfg(1), None, quiet=True))
    for chunk in (7, 64):
        _same_bits(_arrays(sweep(_cfg(chunk), None, quiet=True)), ref)
    assert np.all(ref["status"] == 0) and ref["x_sq"].shape == (20, 4)


def test_a_diverging_network_fails_alone():
    good = _arrays(sweep(_cfg(7), None, quiet=True))
    bad = _arrays(
        sweep(_cfg(7, grid={"model.gain": [0.5, 1.5, 1e38]}), None, quiet=True)
    )
    assert np.all(bad["status"][:20] == 0) and np.all(bad["status"][20:] == 2)
    assert np.all(np.isnan(bad["x_sq"][20:]))
    _same_bits({k: v[:20] for k, v in bad.items()}, good)


def test_interrupted_sweep_resumes_to_the_same_bits(tmp_path, monkeypatch):
    ref = _arrays(sweep(_cfg(4), None, quiet=True))
    out = tmp_path / "run"
    real = ResultStore.write_chunk
    calls = []

    def crash_after_two(self, i, data, status):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(i)
        return real(self, i, data, status)

    monkeypatch.setattr(ResultStore, "write_chunk", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        sweep(_cfg(4), out, quiet=True)
    monkeypatch.undo()
    store = ResultStore.open(out / "results.zarr")
    assert len(store.done_chunks()) == 2 and not store.complete
    res = sweep(_cfg(4), out, quiet=True)
    assert res.store.complete
    _same_bits(_arrays(res), ref)


def test_four_devices_bitwise_identical_to_one(tmp_path):
    """Four fake CPU devices in a child process against one in this one."""
    env = dict(os.environ)
    env.update(
        XLA_FLAGS="--xla_force_host_platform_device_count=4",
        NPROC="5",  # more XLA pool threads than devices (see sweep._runner)
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    script = textwrap.dedent(
        f"""
        import sys, copy
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import jax, toy_models as toy
        from sleepjax import config
        from sleepjax.sweep import sweep
        assert len(jax.devices()) == 4
        toy.register_all()
        raw = {BASE!r}
        raw["run"] = {{"chunk_size": 7}}
        sweep(config.parse(raw), {str(tmp_path / "four")!r}, quiet=True, devices=4)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "on each of 4 cpu device(s)" in run.stderr
    four = ResultStore.open(tmp_path / "four" / "results.zarr")
    one = _arrays(sweep(_cfg(7), None, quiet=True, devices=1))
    got = {k: four.read(k) for k in four.variables}
    got["status"] = four.read("status")
    _same_bits(got, one)


def test_the_experiment_refuses_a_multirate_solver():
    exp = toy.run_map(toy.ToyOptions(n=4), toy.ToyParams(), jr.key(0))
    with pytest.raises(ValueError, match="discrete-time"):
        exp.run(jr.key(1), solver=sj.MultirateEuler(2))
    assert eqx.is_array(exp.run(jr.key(1)).ys["x_sq"])
