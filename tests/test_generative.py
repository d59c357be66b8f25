"""Cortex and consolidation (Spens & Burgess 2024) from general parts.

- Layers: the im2col convolutions equal XLA's (`lax.conv_general_dilated`,
  transposed with `lhs_dilation`) to float32 precision.
- VAE: output shapes for the SPEC 64×64 and the reduced 32×32 networks, a
  finite, non-zero gradient for every parameter, and the loss decreasing
  over Adam steps on one fixed batch.
- The linear probe solves its regularised problem: the gradient, written
  out in NumPy here, vanishes at the fitted weights; in float32 it stays
  finite and accurate at the read-outs' sizes.
- Training as a map: an `EpochTrainer` epoch equals the same updates made
  by hand, and early stopping freezes the state.
- The model is registered; bad input is refused.

G1 (decoding accuracy rising well above the untrained control over
consolidation) is not reproduced at the reduced size, so no test claims it
(docs/generative.md gives the controls).
"""

from __future__ import annotations

import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest
from scipy.optimize import minimize

import sleepjax as sj
from sleepjax.analysis import (
    logistic_fit,
    probe_accuracy,
    standardise,
    svm_dual,
    svm_probe_accuracy,
)
from sleepjax.config import ConfigError, parse
from sleepjax.data.shapes import shapes
from sleepjax.nets import Conv, ConvTranspose, ConvVAE, EpochTrainer, VAEObjective
from sleepjax.sweep import validate_sweep

sys.path.insert(0, str(Path(__file__).parent))
from memory_reference import np_retrieve  # noqa: E402


def test_convolutions_match_xla():
    x = jr.normal(jr.key(0), (2, 9, 11, 3))
    for k, s, pad in [(4, 2, "VALID"), (3, 1, "SAME"), (3, 2, "SAME")]:
        c = Conv(jr.key(1), 3, 5, k, s, pad)
        want = jax.lax.conv_general_dilated(
            x, c.weight, (s, s), pad, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        np.testing.assert_allclose(c(x), want + c.bias, atol=2e-5)


@pytest.mark.parametrize(
    "k, s, pad",
    [(4, 2, 1), (4, 2, 0), (6, 3, 2), (2, 2, 0), (3, 2, 1), (3, 1, 1)],
)
def test_transposed_convolution_matches_its_definition(k, s, pad):
    # k % s == 0 runs by output phases, otherwise on the zero-filled input
    x = jr.normal(jr.key(0), (2, 9, 11, 3))
    t = ConvTranspose(jr.key(2), 3, 4, k, stride=s, pad=pad)
    t = eqx.tree_at(lambda m: m.bias, t, jr.normal(jr.key(3), (4,)))
    y = np.asarray(t(x))
    assert y.shape == (2, 8 * s + k - 2 * pad, 10 * s + k - 2 * pad, 4)
    # PyTorch's definition: y[i s + a − p, j s + b − p] += x[i, j] W[a, b]
    X, W = np.asarray(x), np.asarray(t.weight)
    full = np.zeros((2, 8 * s + k, 10 * s + k, 4))
    for i in range(9):
        for j in range(11):
            full[:, s * i : s * i + k, s * j : s * j + k] += np.einsum(
                "nc,abco->nabo", X[:, i, j], W
            )
    h, w = full.shape[1:3]
    want = full[:, pad : h - pad, pad : w - pad] + np.asarray(t.bias)
    np.testing.assert_allclose(y, want, atol=2e-5)


def test_vae_output_shapes():
    # shapes only: the networks are traced, never initialised or run
    for make, dense in ((ConvVAE.spens_burgess, 4096), (ConvVAE.small, 16 * 64)):
        vae = eqx.filter_eval_shape(make, jr.key(0))
        size = vae.size
        x = jax.ShapeDtypeStruct((4, size, size, 3), jnp.float32)
        (mu, logvar), _ = eqx.filter_eval_shape(lambda v, x: v.encode(x), vae, x)
        assert mu.shape == logvar.shape == (4, 20)
        x_hat, _ = eqx.filter_eval_shape(lambda v, z: v.decode(z), vae, mu)
        assert x_hat.shape == (4, size, size, 3)
        assert vae.dec_dense.weight.shape == (20, dense)


# the same layers at 16×16 with narrow channels in CI (compiling the 32×32
# network's gradient takes ~40 s on 2 cores); both full networks under slow
@pytest.mark.parametrize(
    "which",
    [
        "tiny",
        pytest.param("small", marks=pytest.mark.slow),
        pytest.param("spens_burgess", marks=pytest.mark.slow),
    ],
)
def test_vae_finite_gradient_of_every_parameter(which):
    if which == "tiny":
        vae = ConvVAE(jr.key(0), 16, (4, 8), latent=4)
    else:
        vae = getattr(ConvVAE, which)(jr.key(0))
    x, _ = shapes(0, 4, size=vae.size)
    (loss, _), g = jax.jit(lambda v: VAEObjective().grads(v, x, jr.key(1)))(vae)
    x_hat = jax.jit(lambda v: v.reconstruct(x, v.init_stats()))(vae)
    assert x_hat.shape == x.shape
    assert float(x_hat.min()) > 0 and float(x_hat.max()) < 1
    assert np.isfinite(float(loss))
    leaves = jtu.tree_leaves_with_path(g)
    assert len(leaves) == len(jtu.tree_leaves(vae)) > 10
    for path, leaf in leaves:
        assert np.all(np.isfinite(np.asarray(leaf))), jtu.keystr(path)
        assert float(jnp.abs(leaf).max()) > 0, jtu.keystr(path)


@pytest.mark.slow  # ~25 s of compiling on 2 cores
def test_vae_loss_decreases_on_a_fixed_batch():
    vae = ConvVAE(jr.key(0), 16, (8, 16))
    x, _ = shapes(1, 32, size=16)
    obj = VAEObjective()
    step = jax.jit(lambda p, s, o, k: obj.update(p, s, o, x, k))
    p, s, o = vae, vae.init_stats(), obj.init(vae)
    losses = []
    for i in range(30):
        p, s, o, loss = step(p, s, o, jr.key(i))
        losses.append(float(loss))
    # noisy (sampling, dropout); measured 57.6 -> 45.6 (ratio 0.79)
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:5])


@pytest.mark.slow  # ~60 s of compiling on 2 cores
def test_epoch_trainer_is_the_updates_by_hand_and_stops():
    vae = ConvVAE(jr.key(0), 16, (8, 8), latent=4)
    x, _ = shapes(2, 8, size=16)
    obj = VAEObjective()
    tr = EpochTrainer(obj, x, batch_size=4, patience=1)
    s0 = tr.init(vae, vae.init_stats())
    key = jr.key(5)
    s1 = jax.jit(lambda s: tr.step(0.0, s, key))(s0)
    # by hand: the permutation and the batch keys of the step
    k_perm, k_batch = jr.split(key)
    order = jr.permutation(k_perm, 8).reshape(2, 4)
    upd = jax.jit(lambda *a: obj.update(*a))
    p, st, o = s0.params, s0.stats, s0.opt_state
    losses = []
    for j in range(2):
        p, st, o, loss = upd(p, st, o, x[order[j]], jr.fold_in(k_batch, j))
        losses.append(loss)
    # Adam moves each parameter by at most lr per step; rounding differences
    # between the scan and these calls can flip near-zero updates
    for a, b in zip(jtu.tree_leaves(s1.params), jtu.tree_leaves(p), strict=True):
        np.testing.assert_allclose(a, b, atol=2 * 2 * 1e-3)
    np.testing.assert_allclose(float(s1.loss), float(np.mean(losses)), rtol=1e-4)
    assert int(s1.epochs) == 1 and not bool(s1.stopped)
    # a stopped state is left as it is
    frozen = jax.jit(lambda s: tr.step(1.0, s, key))(eqx_stop(s1))
    for a, b in zip(
        jtu.tree_leaves(frozen), jtu.tree_leaves(eqx_stop(s1)), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def eqx_stop(s):
    return eqx.tree_at(lambda q: q.stopped, s, jnp.array(True))


def test_probe_solves_its_problem(x64):
    x = jr.normal(jr.key(0), (120, 5))
    y = (x[:, 0] > 0).astype(jnp.int32) + 2 * (x[:, 1] > 0)
    xs = standardise(x)[0]
    w, b = logistic_fit(xs, y, 4, C=1.0)
    X = np.asarray(xs)
    logits = X @ np.asarray(w) + np.asarray(b)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    r = p - np.eye(4)[np.asarray(y)]
    grad_w = X.T @ r + np.asarray(w)  # C = 1
    grad_b = r.sum(0)  # intercepts unpenalised, fixed by sum(b) = 0
    assert np.abs(grad_w).max() < 1e-8 and np.abs(grad_b).max() < 1e-8
    assert abs(float(np.sum(b))) < 1e-12
    xt = jr.normal(jr.key(1), (400, 5))
    yt = (xt[:, 0] > 0).astype(jnp.int32) + 2 * (xt[:, 1] > 0)
    assert float(probe_accuracy(x, y, xt, yt, 4)) > 0.85
    # a label unrelated to the features: chance
    yr = jr.randint(jr.key(2), (400,), 0, 4)
    assert float(probe_accuracy(x, y, xt, yr, 4)) < 0.35


def test_probe_is_finite_in_float32():
    # the read-outs run in float32: 500 items of 32 small features (the scale
    # of a freshly initialised dreaming encoder's latents). A probe whose
    # Newton solve fails returns NaN (before the fix: NaN weights, every
    # prediction class 0, a chance-level 0.23-0.25 that looked like a result)
    for seed in range(3):
        x = jr.normal(jr.key(seed), (1000, 32))
        y = (x[:, 0] > 0).astype(jnp.int32) + 2 * (x[:, 1] > 0)
        x = 3e-4 * x
        acc = float(probe_accuracy(x[:500], y[:500], x[500:], y[500:], 4))
        assert acc > 0.85, (seed, acc)
    w, b = logistic_fit(standardise(x[:500])[0], y[:500], 4)
    assert np.all(np.isfinite(np.asarray(w))) and np.all(np.isfinite(np.asarray(b)))


def test_svm_probe_reads_out_a_nonlinear_label(x64):
    """Shells: the class is the radius band of a point, which no linear
    read-out separates (logistic at chance) and the RBF SVM does; its dual
    solution satisfies the box constraints and the KKT conditions; unrelated
    labels give chance; with scikit-learn installed, it agrees with `SVC`."""
    x = np.asarray(jr.normal(jr.key(3), (1200, 3)))
    r = np.linalg.norm(x, axis=1)
    y = np.digitize(r, np.quantile(r[:300], [0.25, 0.5, 0.75]))
    a = (x[:300], y[:300], x[300:], y[300:])
    rbf = float(svm_probe_accuracy(*map(jnp.asarray, a), 4))
    lin = float(probe_accuracy(*map(jnp.asarray, a), 4))
    assert lin < 0.35 and rbf > lin + 0.4, (rbf, lin)  # measured: 0.26, 0.87
    # the dual of one pair against an independent solver (L-BFGS-B)
    xs = (a[0] - a[0].mean(0)) / a[0].std(0)
    K = np.exp(-((xs[:, None] - xs[None]) ** 2).sum(-1) / (3 * xs.var())) + 1.0
    sgn = np.where(a[1] == 0, 1.0, np.where(a[1] == 3, -1.0, 0.0))
    hi = np.abs(sgn)
    alpha = np.asarray(
        svm_dual(jnp.asarray(K), jnp.asarray(sgn), jnp.asarray(hi), 2000)
    )
    Q = sgn[:, None] * K * sgn[None, :]

    def neg_dual(v):
        return 0.5 * v @ Q @ v - hi @ v, Q @ v - hi

    ref = minimize(
        neg_dual,
        np.zeros(len(K)),
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(0 * hi, hi, strict=True)),
        options={"maxiter": 5000},
    )
    assert np.all((alpha >= 0) & (alpha <= hi + 1e-12))
    assert neg_dual(alpha)[0] <= ref.fun + 1e-6 * abs(ref.fun), (
        neg_dual(alpha)[0],
        ref.fun,
    )
    yr = np.asarray(jr.randint(jr.key(4), (900,), 0, 4))
    assert (
        float(svm_probe_accuracy(*map(jnp.asarray, a[:3]), jnp.asarray(yr), 4)) < 0.35
    )
    try:  # the read-out Spens & Burgess use, when scikit-learn is installed
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC
    except ImportError:
        return
    sc = StandardScaler().fit(a[0])
    svc = SVC().fit(sc.transform(a[0]), a[1]).score(sc.transform(a[2]), a[3])
    assert abs(rbf - svc) < 0.02, (rbf, svc)  # measured: 0.874, 0.867


def test_registered_and_bad_input_refused():
    assert "generative" in sj.registered_models()
    base = {"model": {"name": "generative"}, "protocol": {"name": "recall"}}
    cfg = parse(base)
    assert cfg.protocol == "recall"
    # a parameter the protocol does not use is refused when the run is
    # validated (its data flow is traced), before anything is compiled
    unused = parse({**base, "model": {"name": "generative", "lr_dream": 1e-3}})
    with pytest.raises(ConfigError, match="lr_dream"):
        validate_sweep(unused)
    for bad in (
        {"model": {"name": "generative", "size": 48}},
        {"model": {"name": "generative", "beta": -1.0}},
        {"model": {"name": "generative", "similarity": "cosine"}},
        {
            "model": {"name": "generative"},
            "protocol": {"name": "recall", "occlusion": 2},
        },
        {
            "model": {"name": "generative"},
            "protocol": {"name": "consolidation", "train_on": "originals"},
        },
    ):
        with pytest.raises(ConfigError):
            parse({**base, **bad, "protocol": bad.get("protocol", base["protocol"])})


#: a consolidation run small enough to build in seconds
TINY_CONSOLIDATION = {
    "name": "consolidation",
    "epochs": 1,
    "n_fit": 16,
    "n_test": 16,
    "n_items": 8,
    "n_cues": 8,
}


@pytest.mark.parametrize(
    ("similarity", "palette"),
    [("dot", "muted"), ("equal_norm", "muted"), ("dot", "vivid")],
)
def test_replays_by_shape_match_numpy(similarity, palette):
    """The consolidation run's `replay_shapes` (the share of each shape among
    the stored images that the replays end at) and `stored_shapes`, against
    nearest stored patterns found in NumPy from the run's own data; the
    replays are NumPy retrievals with the model's similarity (equal norms:
    each unit's score times r̄/‖x_μ‖)."""
    m, r, key = 64, 96, jr.key(5)
    raw = {
        "model": {
            "name": "generative",
            "n_stored": m,
            "n_replay": r,
            "similarity": similarity,
            "palette": palette,
        },
        "protocol": dict(TINY_CONSOLIDATION),
    }
    exp = parse(raw).build(key=key)
    x, labels = shapes(jr.split(key, 4)[0], m, size=32, split="train", palette=palette)
    X = np.asarray(2.0 * x - 1.0, dtype=np.float64).reshape(m, -1)
    y = np.asarray(labels["shape"])
    replays = 2.0 * np.asarray(exp.model.data, dtype=np.float64).reshape(r, -1) - 1.0
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    near = np.argmax(replays @ unit.T, axis=1)
    obs = exp.observe
    np.testing.assert_allclose(obs.stored_shapes, np.bincount(y, minlength=4) / m)
    np.testing.assert_allclose(
        obs.replay_shapes, np.bincount(y[near], minlength=4) / r, atol=1e-6
    )
    # the replays are the run's own retrievals from uniform noise (NumPy)
    q = np.asarray(jr.uniform(jr.split(key, 4)[1], (r, X.shape[1]), minval=-1.0))
    q = q.astype(np.float64)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    gain = norm.mean() / norm if similarity == "equal_norm" else None
    ref = np.stack([np_retrieve(X.T, qi[:, None], 20.0, gain=gain)[:, 0] for qi in q])
    assert np.mean(np.argmax(ref @ unit.T, axis=1) == near) >= 0.95
    # the control without replay trains on the stored images themselves
    raw["protocol"]["train_on"] = "stored"
    control = parse(raw).build(key=key)
    np.testing.assert_array_equal(control.model.data, x)
    np.testing.assert_array_equal(control.observe.replay_shapes, obs.replay_shapes)


def _run_and_report(tmp_path, raw):
    """`sleepjax run` of `raw`: the summary table's rows (split into words),
    after checking that a figure was drawn, and the results store."""
    from refusal import dump_toml

    from sleepjax.cli import main
    from sleepjax.sweep._store import ResultStore

    cfg = tmp_path / "run.toml"
    cfg.write_text(dump_toml(raw))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert (out / "figure.png").stat().st_size > 10_000
    rows = (out / "summary.txt").read_text().split("\n\n")[0].splitlines()[2:]
    return [r.split() for r in rows], ResultStore.open(out / "results.zarr")


@pytest.mark.slow  # ~90 s of compiling the VAE on 2 cores
def test_consolidation_sweep_report(tmp_path):
    """`sleepjax run` of a tiny consolidation sweep over the hippocampus's
    similarity, the training data and the palette: the figure is drawn and the
    table names each network's condition (the palette, which the figure draws
    by colour, as its setting) and reports the coverage the runs stored."""
    raw = {
        "model": {"name": "generative", "n_stored": 48, "n_replay": 64},
        "protocol": {**TINY_CONSOLIDATION, "examples": 4},
        "sweep": {
            "batch": 1,
            "zip": {
                "model.similarity": ["dot", "equal_norm", "dot", "dot"],
                "protocol.train_on": ["replays", "replays", "stored", "replays"],
                "model.palette": ["muted", "muted", "muted", "vivid"],
            },
        },
    }
    rows, store = _run_and_report(tmp_path, raw)
    assert [r[1:6] for r in rows] == [
        ["replays", "dot", "palette", "=", "muted"],
        ["replays", "equal_norm", "palette", "=", "muted"],
        ["stored", "dot", "palette", "=", "muted"],
        ["replays", "dot", "palette", "=", "vivid"],
    ]
    cov = store.read("replay_coverage")[:, -1]
    assert [int(r[11]) for r in rows] == [int(c) for c in cov]


def test_recall_sweep_over_similarity_report(tmp_path):
    """`sleepjax run` of the recall protocol over both similarities (paired):
    the figure is drawn, the table names each hippocampus, and its numbers are
    the stored results."""
    raw = {
        "model": {"name": "generative", "n_stored": 64},
        "protocol": {"name": "recall", "iterations": 3, "n_cues": 8, "n_noise": 32},
        "sweep": {
            "batch": 1,
            "paired": True,
            "grid": {"model.similarity": ["dot", "equal_norm"]},
        },
    }
    rows, store = _run_and_report(tmp_path, raw)
    assert [r[1] for r in rows] == ["dot", "equal_norm"]
    cov = store.read("replay_coverage")[:, -1]
    assert [int(r[-1]) for r in rows] == [int(c) for c in cov]
