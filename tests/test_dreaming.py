"""Perturbed and adversarial dreaming (Deperrois et al. 2022): the phase
switches change which parameters receive gradients, checked on the gradient
pytree of each phase, and a disabled phase leaves its parameters unchanged
through a whole update."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest

from sleepjax.data.shapes import shapes
from sleepjax.nets import DreamEncoder, DreamGenerator, DreamingObjective, latent_kl

WIDTH, LATENT, B = 4, 8, 8


def _norm(tree) -> float:
    return float(sum(jnp.sum(jnp.abs(x)) for x in jtu.tree_leaves(tree)))


@pytest.fixture(scope="module")
def setup():
    x, _ = shapes(0, B, size=32)
    params = (
        DreamEncoder(jr.key(0), WIDTH, LATENT),
        DreamGenerator(jr.key(1), WIDTH, LATENT),
    )
    return 2.0 * x - 1.0, params


def _grads(flags, x, params):
    obj = DreamingObjective(**flags)
    mem = obj.init_memory(B, LATENT)
    return jax.jit(lambda p: obj.phase_gradients(p, mem, x, jr.key(3)))(params)


FULL = dict(wake=True, nrem=True, rem=True)


@pytest.fixture(scope="module")
def full_grads(setup):
    """The phase gradients with every phase on (compiled once for two tests)."""
    x, params = setup
    return _grads(FULL, x, params)


# each switch setting is its own compiled program (~30 s on 2 cores): CI runs
# all phases on; the three switches off run under slow
@pytest.mark.parametrize(
    "flags",
    [
        FULL,
        pytest.param(dict(FULL, rem=False), marks=pytest.mark.slow),
        pytest.param(dict(FULL, nrem=False), marks=pytest.mark.slow),
        pytest.param(dict(FULL, wake=False), marks=pytest.mark.slow),
    ],
    ids=["full", "no_rem", "no_nrem", "no_wake"],
)
def test_switches_on_the_gradient_pytree(setup, full_grads, flags):
    x, params = setup
    g = full_grads if flags == FULL else _grads(flags, x, params)
    (we, wg), (ne, ng), (re_, rg) = (g[k][1] for k in ("wake", "nrem", "rem"))
    # NREM never trains the generator nor the real/dream head
    assert _norm(ng) == 0.0 and _norm(ne.real_head) == 0.0
    # the real/dream head learns only when REM is on (wake "real" and REM "dream")
    assert (_norm(we.real_head) > 0) == flags["rem"]
    assert (_norm(re_.real_head) > 0) == flags["rem"]
    assert (_norm(rg) > 0) == flags["rem"] and (_norm(re_) > 0) == flags["rem"]
    assert (_norm(ne.convs) > 0) == flags["nrem"]
    assert (_norm(ne.latent_head) > 0) == flags["nrem"]
    # the generator learns to reconstruct only when wake is on
    assert (_norm(wg) > 0) == flags["wake"]
    assert _norm(we.convs) > 0  # the latent regulariser always reaches the encoder


@pytest.mark.slow  # a second compiled gradient (~25 s on 2 cores)
def test_rem_gradient_of_the_generator_is_reversed(setup, full_grads):
    x, params = setup
    obj = DreamingObjective(**FULL)
    mem = obj.init_memory(B, LATENT)
    g = full_grads  # phase_gradients(params, mem, x, key(3)), as in _grads
    direct = jax.jit(
        jax.grad(lambda p: obj.rem_loss(p, x, mem, jr.split(jr.key(3), 3)[2]))
    )(params)
    for a, b in zip(
        jtu.tree_leaves(g["rem"][1][1]), jtu.tree_leaves(direct[1]), strict=True
    ):
        np.testing.assert_allclose(a, -b, rtol=1e-5, atol=1e-8)


@pytest.mark.slow  # a whole update compiled (~35 s on 2 cores)
def test_disabled_phase_leaves_parameters_unchanged(setup):
    x, params = setup
    obj = DreamingObjective(wake=True, nrem=True, rem=False)
    mem = obj.init_memory(B, LATENT)
    opt = obj.init(params)
    new, mem2, _, loss = jax.jit(lambda p: obj.update(p, mem, opt, x, jr.key(4)))(
        params
    )
    np.testing.assert_array_equal(new[0].real_head.weight, params[0].real_head.weight)
    assert not np.array_equal(new[0].latent_head.weight, params[0].latent_head.weight)
    assert bool(mem2.seen) and np.isfinite(float(loss))


def test_latent_kl_is_zero_for_standard_normal_statistics():
    z = jr.normal(jr.key(0), (4000, 3))
    assert abs(float(latent_kl(z))) < 5e-3
    assert float(latent_kl(3.0 * z + 1.0)) > 1.0


def _layer_stds(x, width, latent, keys):
    """Std of each encoder layer's output and of the generator's pre-tanh
    output at initialisation, averaged over networks drawn with `keys`."""

    def one(k):
        enc = DreamEncoder(jr.fold_in(k, 0), width, latent)
        gen = DreamGenerator(jr.fold_in(k, 1), width, latent)
        h, stds = x, []
        for conv in enc.convs:
            h = jax.nn.leaky_relu(conv(h), 0.2)
            stds.append(jnp.std(h))
        stds.append(jnp.std(enc.latent_head(h.reshape(len(x), -1))))
        z = jr.normal(jr.fold_in(k, 2), (len(x), latent))
        g = jax.nn.leaky_relu(gen.dense(z), 0.2).reshape(len(x), 4, 4, 4 * width)
        for t in gen.tconvs[:-1]:
            g = jax.nn.leaky_relu(t(g), 0.2)
        stds.append(jnp.std(gen.tconvs[-1](g)))
        return jnp.stack(stds)

    return np.mean(np.asarray(jax.jit(jax.vmap(one))(keys)), axis=0)


def test_narrow_networks_start_with_pads_signal_scale(setup):
    # PAD's sizes (w 64, K 256) with N(0, 0.02²) kernels against a narrow
    # network: each layer's output std agrees (fan-in-matched kernel scale)
    x, _ = setup
    keys = jr.split(jr.key(5), 4)
    pad = _layer_stds(x, 64, 256, keys)
    narrow = _layer_stds(x, WIDTH, LATENT, keys)
    # (with 0.02 everywhere the narrow latents would be ~(4/64)^(3/2) of PAD's)
    np.testing.assert_allclose(narrow / pad, 1.0, atol=0.35)


@pytest.mark.slow  # 3-6 minutes on 2 cores: the example on 2 of its 3 seeds
def test_dreaming_ablations_on_the_example(tmp_path):
    """Deperrois et al.'s ablations, on the example's configuration with two
    paired seeds (the same initial networks, data and noise in each
    condition), after 768 updates, seed by seed:

    - REM: the shape read-out of the full model lies above its untrained
      encoder's and above the no-REM network's. Measured on the example's
      3 seeds: untrained 0.40-0.48, full 0.47-0.52 (+0.03 to +0.07), no REM
      0.36-0.40 (0.09-0.12 below full); chance 0.25, one read-out of 500
      items is uncertain by about ±0.02.
    - NREM: occlusion moves the latents less with NREM than without. The
      contrast without REM (NREM only against wake only) is the one
      asserted: measured 0.014-0.022 against 0.046-0.047 (clean–occluded /
      between-class distance), every seed. With REM (full against no NREM:
      0.055-0.061 against 0.066-0.105) one seed's difference is within its
      fluctuation over epochs, so it is not asserted.
    """
    import tomllib
    from pathlib import Path

    from refusal import dump_toml

    from sleepjax.cli import main
    from sleepjax.sweep._store import ResultStore

    example = Path(__file__).parents[1] / "examples" / "generative_dreaming.toml"
    raw = tomllib.loads(example.read_text())
    raw["sweep"]["seeds"] = raw["sweep"]["batch"] = 2
    cfg = tmp_path / "run.toml"
    cfg.write_text(dump_toml(raw))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    store = ResultStore.open(tmp_path / "out" / "results.zarr")
    sep = store.read("linear_separability")
    shift = store.read("occlusion_distance")
    nrem, rem = store.read("model.nrem"), store.read("model.rem")
    seed = store.read("seed")
    for s in (0, 1):
        full = sep[(seed == s) & nrem & rem][0]
        no_rem = sep[(seed == s) & nrem & ~rem][0]
        assert full[0] == no_rem[0]  # paired: the same untrained encoder
        assert full[-1] > full[0], (s, full)
        assert full[-1] > no_rem[-1] + 0.05, (s, full[-1], no_rem[-1])
        nrem_only = shift[(seed == s) & nrem & ~rem][0]
        wake_only = shift[(seed == s) & ~nrem & ~rem][0]
        assert nrem_only[0] == wake_only[0]
        assert nrem_only[-1] < 0.7 * wake_only[-1], (s, nrem_only[-1], wake_only[-1])
    # the summary compares each condition with the full model, seed by seed
    summary = (tmp_path / "out" / "summary.txt").read_text()
    d = sep[~nrem & rem, -1] - sep[nrem & rem, -1]  # seeds in the same order
    line = next(x for x in summary.splitlines() if x.startswith("- no NREM − full"))
    assert "2 paired seeds" in line
    mean = f"{np.mean(d):+.3f}".replace("-", "−")
    assert f"separability {mean} (higher in {np.sum(d > 0)}," in line


def _changed(new, old) -> list[bool]:
    return [
        not np.array_equal(a, b)
        for a, b in zip(jtu.tree_leaves(new), jtu.tree_leaves(old), strict=True)
    ]


@pytest.mark.slow  # one update with every phase under a stage condition (~60 s)
def test_night_runs_the_phase_of_each_stage(setup, full_grads):
    """With a night, a mini-batch changes exactly the parameters that its
    stage's phase has gradients for (all from a fresh optimiser state, where
    a zero gradient moves nothing), and none in N1."""
    from sleepjax import sleep as sl

    x, params = setup
    night = sl.from_table([("N1", 1), ("N2", 1), ("N3", 1), ("REM", 1)], t0=1.0)
    obj = DreamingObjective(**FULL, night=night)
    mem = obj.init_memory(B, LATENT)
    opt = obj.init(params)
    step = jax.jit(lambda t: obj.update_at(t, params, mem, opt, x, jr.key(3)))
    # the same phase keys as phase_gradients(…, key(3)) (full_grads)
    nonzero = {
        k: [bool(np.any(g != 0)) for g in jtu.tree_leaves(full_grads[k][1])]
        for k in ("wake", "nrem", "rem")
    }
    none = [False] * len(nonzero["wake"])
    for t, want in [
        (0.5, nonzero["wake"]),
        (1.5, none),  # N1
        (2.5, nonzero["nrem"]),
        (3.5, nonzero["nrem"]),  # N3
        (4.5, nonzero["rem"]),
        (5.5, nonzero["wake"]),  # after the night
    ]:
        new, mem2, new_opt, loss = step(t)
        assert _changed(new, params) == want, t
        if not any(want):
            assert not any(_changed(new_opt, opt))
        assert bool(mem2.seen) and np.isfinite(float(loss))


def test_dreaming_nights_follow_the_days():
    """The protocol's nights: each day is wake for its first `wake_fraction`,
    then sleep cycles that end with the day; REM deprivation turns every REM
    period into wake; too short cycles are refused before anything runs."""
    from sleepjax.models.generative._dream import days_and_nights, dreaming
    from sleepjax.models.generative._options import (
        GenerativeOptions,
        GenerativeParams,
    )
    from sleepjax.sleep import NREM, REM, WAKE

    t = jnp.arange(0, 6, 1 / 16)  # mini-batch times, 16 per epoch
    day = np.asarray(t) % 3.0
    for dep in (0.0, 1.0):
        night = days_and_nights(jr.key(0), 6.0, 2, 2 / 3, 2, rem_deprivation=dep)
        stage = np.asarray(jax.vmap(night.stage_at)(t))
        assert np.all(stage[day < 2.0] == WAKE)
        asleep = np.isin(stage[day >= 2.0], NREM)
        assert asleep.mean() > 0.6  # the cycles fill the night (N1/N2/N3)
        assert np.any(stage == REM) == (dep == 0.0)
    opts = GenerativeOptions(size=32, batch=32, n_train=512, latent=8, width=4)
    kw = dict(epochs=6.0, n_fit=20, n_test=20, nights=6, n_cycles=2)
    with pytest.raises(ValueError, match="fewer than 4 mini-batches"):
        dreaming(opts, GenerativeParams(), jr.key(0), **kw)


def test_dreaming_draws_its_images_in_the_palette():
    """The dreaming protocol's training and held-out images are the shapes of
    its data key in the options' palette."""
    from sleepjax.models.generative._dream import dreaming
    from sleepjax.models.generative._options import (
        GenerativeOptions,
        GenerativeParams,
    )

    key = jr.key(3)
    k_data = jr.split(key, 4)[0]
    for palette in ("muted", "vivid"):
        # the fixture's sizes: the networks' initialisation is compiled once
        opts = GenerativeOptions(
            size=32, batch=B, n_train=16, latent=LATENT, width=WIDTH, palette=palette
        )
        exp = dreaming(opts, GenerativeParams(), key, epochs=1.0, n_fit=4, n_test=4)
        x, _ = shapes(k_data, 16, split="train", palette=palette)
        hx, labels = shapes(k_data, 8, split="test", palette=palette)
        np.testing.assert_array_equal(exp.model.data, 2.0 * x - 1.0)
        np.testing.assert_array_equal(exp.observe.x, 2.0 * hx - 1.0)
        np.testing.assert_array_equal(exp.observe.y, labels["shape"])


@pytest.mark.slow  # ~2-5 minutes of compiling on 2 cores
def test_dreaming_nights_sweep_report(tmp_path):
    """`sleepjax run` of a tiny sweep over REM deprivation with nights: the
    table names each condition, the stage shares are saved per epoch (REM
    only in normal nights; each epoch's shares sum to 1), and the figure is
    drawn."""
    from refusal import dump_toml

    from sleepjax.cli import main
    from sleepjax.sweep._store import ResultStore

    raw = {
        "model": {
            "name": "generative",
            "latent": 8,
            "width": 4,
            "batch": 32,
            "n_train": 512,
        },
        "protocol": {
            "name": "dreaming",
            "epochs": 6,
            "n_fit": 100,
            "n_test": 100,
            "nights": 2,
            "n_cycles": 2,
        },
        "sweep": {
            "batch": 2,
            "paired": True,
            "grid": {"protocol.rem_deprivation": [0.0, 1.0]},
        },
    }
    cfg = tmp_path / "run.toml"
    cfg.write_text(dump_toml(raw))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert (out / "figure.png").stat().st_size > 10_000
    table = (out / "summary.txt").read_text().split("\n\n")[0]
    assert "full, rem_deprivation = 0.0" in table
    assert "full, rem_deprivation = 1.0" in table
    store = ResultStore.open(out / "results.zarr")
    share = store.read("stage_share")  # (network, time, stage)
    dep = store.read("protocol.rem_deprivation")
    assert share.shape == (2, 7, 5)
    np.testing.assert_allclose(share.sum(-1), 1.0, atol=1e-6)
    assert share[dep == 0.0, :, 4].sum() > 0 and share[dep == 1.0, :, 4].sum() == 0
    # each mini-batch's stage, in order: the protocol's hypnogram at its time
    codes = store.read("stages")  # (network, time, batch)
    assert codes.shape == (2, 7, 16)
    counts = (codes[..., None] == np.arange(5)).mean(axis=2)
    np.testing.assert_allclose(counts, share, atol=1e-6)
    assert np.all(codes[:, [0, 3], 0] == 0)  # each day starts awake
