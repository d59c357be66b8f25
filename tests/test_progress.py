"""Progress from inside compiled runs (`sleepjax.listen_progress`).

- `iterate(..., progress=True)` reports k/steps after the save segments that
  cross each twentieth of the run, then 1 at the end, in order (the reports
  depend on the state just computed), once per batch under `vmap`, and the
  saved numbers are bitwise those of a run without reports.
- `simulate(..., progress=True)` reports increasing fractions (each 2 % of
  the slowest network) ending at 1; numbers unchanged.
- A sweep of a discrete model with few calls reports to the runner's
  listener during each chunk; a continuous one does not (its hook costs a
  branch per step), nor one of many calls (the bar moves by itself).
"""

from __future__ import annotations

import sys
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import toy_models as toy  # noqa: E402

import sleepjax as sj  # noqa: E402
from sleepjax import config  # noqa: E402
from sleepjax.sweep import sweep  # noqa: E402
from sleepjax.sweep._runner import _Runner  # noqa: E402


def _map(n=5):
    W = jr.normal(jr.key(7), (n, n)) / np.sqrt(n)
    return toy.ToyMap(W, jnp.asarray(0.9), jnp.asarray(0.3), jnp.asarray(0.2))


def _run_map(save_ts, progress, batch):
    def one(k):
        return sj.iterate(
            _map(),
            {"x": jnp.ones(5)},
            t0=0.0,
            t1=100.0,
            dt=1.0,
            key=k,
            save_ts=save_ts,
            progress=progress,
        ).ys["x"]

    keys = jax.vmap(jr.key)(jnp.arange(batch))
    return jax.block_until_ready(jax.jit(jax.vmap(one))(keys))


@pytest.mark.parametrize("batch", [1, 7])
def test_iterate_reports_twentieths_in_order(batch):
    save_ts = np.concatenate([np.arange(0.0, 50.0, 1.0), np.arange(50.0, 101.0, 7.0)])
    got = []
    with sj.listen_progress(got.append):
        ys = _run_map(save_ts, True, batch)
    # after each save segment [k0, k0 + n] that crosses a multiple of 100/20
    k = save_ts.astype(int)
    pairs = zip(k[:-1], k[1:], strict=True)
    want = [b / 100 for a, b in pairs if b * 20 // 100 > a * 20 // 100]
    np.testing.assert_allclose(got, [*want, 1.0], rtol=1e-6)
    assert len(got) <= 21 + 1
    np.testing.assert_array_equal(ys, _run_map(save_ts, False, batch))
    # several save grids (snapshots) report too
    got.clear()
    with sj.listen_progress(got.append):
        sj.iterate(
            _map(),
            {"x": jnp.ones(5)},
            t0=0.0,
            t1=100.0,
            dt=1.0,
            save_ts=(np.arange(0.0, 101.0, 10.0), np.array([50.0])),
            fn=(None, None),
            progress=True,
        )
        jax.effects_barrier()
    np.testing.assert_allclose(got, [*np.arange(0.1, 1.01, 0.1), 1.0], rtol=1e-6)


def test_no_listener_no_reports_and_bad_listener_refused():
    _run_map(np.arange(0.0, 101.0, 10.0), True, 2)  # nobody listens: nothing fails
    with pytest.raises(TypeError, match="callable"):
        with sj.listen_progress(3):
            pass


def test_simulate_reports_increasing_fractions_to_one():
    m = toy.ToyODE(
        0.1 * jr.normal(jr.key(0), (4, 4)),
        jnp.asarray(0.5),
        jnp.asarray(1.0),
        jnp.asarray(0.1),
    )

    def run(k, progress):
        return sj.simulate(
            m,
            {"x": jnp.ones(4)},
            t0=0.0,
            t1=10.0,
            dt=0.01,
            key=k,
            saveat=diffrax.SaveAt(ts=jnp.linspace(0.0, 10.0, 5)),
            progress=progress,
        ).ys["x"]

    keys = jax.vmap(jr.key)(jnp.arange(3))
    got = []
    with sj.listen_progress(got.append):
        a = jax.block_until_ready(jax.jit(jax.vmap(lambda k: run(k, True)))(keys))
    assert np.all(np.diff(got) >= 0) and got[-1] == 1.0
    assert 45 <= len(got) <= 52  # every 2 % of 1000 steps, and the end
    np.testing.assert_array_equal(a, jax.jit(jax.vmap(lambda k: run(k, False)))(keys))
    with pytest.raises(ValueError, match="not both"):
        sj.simulate(
            m,
            {"x": jnp.ones(4)},
            t0=0.0,
            t1=1.0,
            dt=0.1,
            key=jr.key(0),
            progress=True,
            progress_meter=diffrax.TqdmProgressMeter(),
        )


@pytest.mark.parametrize(
    "name, seeds, batch, reports",
    [
        ("toy_map", 4, 8, True),  # one call: reports from inside it
        ("toy_ode", 4, 8, False),  # continuous: never from inside
        ("toy_map", 12, 2, False),  # six calls: the bar moves by itself
    ],
)
def test_sweep_reports_to_the_runner(monkeypatch, name, seeds, batch, reports):
    toy.register_all()
    heard = []

    def listener(self, i, n_chunks, done):
        return lambda f: heard.append((i, f))

    monkeypatch.setattr(_Runner, "progress_listener", listener)
    try:
        cfg = config.parse(
            {
                "model": {"name": name, "n": 4},
                "protocol": {"name": "run", "t_end": 10.0, "save_every": 1.0},
                "sweep": {"seeds": seeds, "batch": batch},
                "run": {"chunk_size": 2},
            }
        )
        sweep(cfg, None, quiet=True)
    finally:
        toy.unregister_all()
    if reports:
        jax.effects_barrier()
        for chunk in (0, 1):
            fs = [f for i, f in heard if i == chunk]
            assert fs and fs[-1] == 1.0 and np.all(np.diff(fs) >= 0)
    else:
        assert heard == []


def test_runner_listener_text(monkeypatch):
    """On the bar: the running call's percentage, at most twice a second;
    without a bar (--quiet): a log line at most once a minute."""
    import types

    import sleepjax.sweep._runner as runner_mod

    clock = iter([0.0, 0.2, 0.7, 0.8, 0.0, 30.0, 61.0, 62.0, 200.0])
    monkeypatch.setattr(runner_mod.time, "perf_counter", lambda: next(clock))
    notes = []
    bar = types.SimpleNamespace(set_postfix_str=lambda s, refresh: notes.append(s))
    show = _Runner.progress_listener(types.SimpleNamespace(_bar=bar), 0, 3, 1)
    for f in (0.1, 0.2, 0.3):  # at 0.2 s (too soon), 0.7 s, 0.8 s (too soon)
        show(f)
    assert notes == ["chunks 1/3, running call 20 % done"]
    logged = []
    monkeypatch.setattr(runner_mod, "_log", logged.append)
    show = _Runner.progress_listener(types.SimpleNamespace(_bar=None), 1, 3, 1)
    for f in (0.25, 0.5, 0.75, 1.0):  # at 30, 61, 62 and 200 s
        show(f)
    assert logged == ["chunk 2/3: running call 50 % done"]  # 1.0: the chunk line
