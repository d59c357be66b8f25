"""What the generative-memory runs save."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..._spec import AbstractObservables
from ...analysis import probe_accuracy, svm_probe_accuracy
from ...dynamics import ModernHopfieldMemory, coverage

IMG = ("row", "col", "channel")


def _flat(x):
    return x.reshape(x.shape[0], -1)


class ExtendedModel(eqx.Module):
    r"""Spens & Burgess's extended model, for a trained VAE with running
    statistics: an item $x$ is stored in a hippocampus of its own as
    $[\,(2x - 1)\cdot m\,;\ \mu(x)\,]$, with the poorly predicted detail
    $m = \mathrm{mean}_c|x - \hat x| > \tau_\mathrm{err}$ ($\hat x$ the VAE's
    reconstruction, 0 elsewhere) and $\mu$ the latent mean. A cue goes through
    the same encoding; the retrieval (5 iterations, as in their code) splits
    into detail $\delta$ and latent $z$, and the recall is $\delta$ where
    $|\delta| > 0.01$, else the decoding of $z$ (in [−1, 1], shown in [0, 1]).
    `equal_norm`: the hippocampus's similarity (`ModernHopfieldMemory`)."""

    beta: Float[Array, ""]
    tau_err: Float[Array, ""]
    equal_norm: bool = eqx.field(static=True, default=False)

    def encode(self, vae, stats, x):
        mu = vae.means(x, stats)
        x_hat = vae.decode(mu, stats.decoder)[0]
        mask = jnp.mean(jnp.abs(x - x_hat), axis=-1, keepdims=True) > self.tau_err
        detail = jnp.where(mask, 2.0 * x - 1.0, 0.0)
        return jnp.concatenate([_flat(detail), mu], axis=1), mask

    def recall(self, vae, stats, items, cues):
        """`(recalled images in [0, 1], fraction of pixels stored)`."""
        traces, mask = self.encode(vae, stats, items)
        mem = ModernHopfieldMemory(traces, self.beta, equal_norm=self.equal_norm)
        queries, _ = self.encode(vae, stats, cues)
        out = mem.retrieve(queries, max_iter=5)
        d = items[0].size
        detail = out[:, :d].reshape(items.shape)
        z = out[:, d:]
        decoded = 2.0 * vae.decode(z, stats.decoder)[0] - 1.0
        combined = jnp.where(jnp.abs(detail) > 0.01, detail, decoded)
        return (combined + 1.0) / 2.0, jnp.mean(mask)


_C_UNITS = {
    "decoding_accuracy": (
        "semantic decoding accuracy",
        "1",
        "shape read out from the VAE's latent means by logistic regression "
        "(trained on the first items of a held-out set, tested on the rest)",
    ),
    "decoding_accuracy_rbf": (
        "semantic decoding accuracy, RBF read-out",
        "1",
        "the same with an RBF support vector machine (nonlinear; the read-out "
        "Spens & Burgess use)",
    ),
    "heldout_error": (
        "held-out reconstruction error",
        "1",
        "mean |x − x̂| per pixel and channel on clean held-out images",
    ),
    "train_loss": (
        "training loss",
        "1",
        "mean loss of the last epoch (L1 summed over pixels + KL); 0 at start",
    ),
    "epochs_trained": ("epochs trained", "epoch", "stops at early stopping"),
    "noisy_error_basic": (
        "error from noisy cues, basic model",
        "1",
        "mean |x − VAE(x_noisy)| per element (x_noisy: a fraction of elements 0)",
    ),
    "noisy_error_extended": (
        "error from noisy cues, extended model",
        "1",
        "mean |x − recall(x_noisy)| with the detail stored in the hippocampus",
    ),
    "occluded_error_basic": (
        "error from occluded cues, basic model",
        "1",
        "as noisy_error_basic, with the right part of the image hidden (0)",
    ),
    "occluded_error_extended": (
        "error from occluded cues, extended model",
        "1",
        "as noisy_error_extended, with the right part of the image hidden (0)",
    ),
    "detail_fraction": (
        "fraction of pixels stored as detail",
        "1",
        "extended model: pixels with mean_c|x − x̂| > tau_err",
    ),
    "replay_coverage": (
        "stored patterns reached by replay",
        "count",
        "distinct stored images that some replay ends within cosine 0.99 of",
    ),
    "replay_shapes": (
        "replays by shape",
        "1",
        "fraction of replays whose nearest stored image has each shape",
    ),
    "stored_shapes": (
        "stored images by shape",
        "1",
        "fraction of the stored images with each shape",
    ),
    "recall_correct": (
        "recall from occluded cues",
        "1",
        "fraction of occluded cues retrieved to their own image (cosine ≥ 0.99)",
    ),
    "recall_grid": (
        "hippocampal recall examples",
        "1",
        "per example: stored image, occluded cue, retrieval, noise, replay",
    ),
    "reconstruction_grid": (
        "reconstruction examples",
        "1",
        "per example: original, noisy, basic, extended, occluded, basic, extended",
    ),
}


class ConsolidationObservables(AbstractObservables):
    """Saved at the start of each epoch of the VAE's training on replays.

    **Fields:** held-out images and shape labels for decoding (`probe_x`,
    `probe_y`, first `n_fit` train the classifier), extended-model items and
    their noisy / occluded versions, constants from the hippocampus computed
    when the experiment is built (coverage, the share of each shape among
    the replays and among the stored images, recall correctness, recall
    grid), and the extended model.
    """

    probe_x: Float[Array, "n H W 3"]
    probe_y: Int[Array, " n"]
    items: Float[Array, "k H W 3"]
    noisy: Float[Array, "k H W 3"]
    occluded: Float[Array, "k H W 3"]
    extended: ExtendedModel
    coverage: Float[Array, ""]
    replay_shapes: Float[Array, " 4"]
    stored_shapes: Float[Array, " 4"]
    recall_correct: Float[Array, ""]
    recall_grid: Float[Array, "e 5 H W 3"]
    n_fit: int = eqx.field(static=True)
    n_examples: int = eqx.field(static=True)

    headline: ClassVar = ("decoding_accuracy", "heldout_error", "epochs_trained")
    families: ClassVar = {
        "errors": (
            "noisy_error_basic",
            "noisy_error_extended",
            "occluded_error_basic",
            "occluded_error_extended",
        )
    }
    units: ClassVar = _C_UNITS

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(_C_UNITS)

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        if name == "recall_grid":
            return ("example", "recall_panel", *IMG)
        if name == "reconstruction_grid":
            return ("example", "reconstruction_panel", *IMG)
        if name in ("replay_shapes", "stored_shapes"):
            return ("shape",)
        return ()

    def __call__(self, t, y, model) -> dict[str, Array]:
        vae, stats = y.params, y.stats
        mu = vae.means(self.probe_x, stats)
        n = self.n_fit
        fit, test = (mu[:n], self.probe_y[:n]), (mu[n:], self.probe_y[n:])
        acc = probe_accuracy(*fit, *test, 4)
        acc_rbf = svm_probe_accuracy(*fit, *test, 4)
        err = jnp.mean(
            jnp.abs(vae.reconstruct(self.probe_x[:n], stats) - self.probe_x[:n])
        )
        out = {
            "decoding_accuracy": acc,
            "decoding_accuracy_rbf": acc_rbf,
            "heldout_error": err,
            "train_loss": jnp.where(y.epochs > 0, y.loss, 0.0),
            "epochs_trained": y.epochs.astype(err.dtype),
        }
        grid = []
        for kind, cues in (("noisy", self.noisy), ("occluded", self.occluded)):
            basic = vae.reconstruct(cues, stats)
            ext, frac = self.extended.recall(vae, stats, self.items, cues)
            out[f"{kind}_error_basic"] = jnp.mean(jnp.abs(basic - self.items))
            out[f"{kind}_error_extended"] = jnp.mean(jnp.abs(ext - self.items))
            grid += [cues, basic, ext]
        out["detail_fraction"] = frac
        e = self.n_examples
        panels = [self.items, *grid]
        out["reconstruction_grid"] = jnp.stack([p[:e] for p in panels], axis=1)
        out["replay_coverage"] = self.coverage
        out["replay_shapes"] = self.replay_shapes
        out["stored_shapes"] = self.stored_shapes
        out["recall_correct"] = self.recall_correct
        out["recall_grid"] = self.recall_grid
        return {k: out[k] for k in self.names}


def replay_summary(memory: ModernHopfieldMemory, replays, threshold=0.99):
    """`(coverage, nearest index, cosine)` of replayed states."""
    idx, cos = memory.nearest(replays)
    return coverage(idx, cos, memory.patterns.shape[0], threshold), idx, cos


def recall_grid(parts, e: int, shape):
    """`(e, len(parts), *shape)` images in [0, 1] from [−1, 1] vectors."""
    parts = [(jnp.reshape(p[:e], (e, *shape)) + 1.0) / 2.0 for p in parts]
    return jnp.clip(jnp.stack(parts, axis=1), 0.0, 1.0)


_R_UNITS = {
    "cue_correct": (
        "occluded cues at their own image",
        "1",
        "fraction of cue states whose nearest stored image is their own, cos ≥ 0.99",
    ),
    "cue_cosine": (
        "cosine with the cued image",
        "1",
        "mean cosine similarity of cue states with their own stored image",
    ),
    "noise_at_pattern": (
        "noise states at a stored image",
        "1",
        "fraction of noise states within cosine 0.99 of some stored image",
    ),
    "replay_coverage": (
        "stored patterns reached by replay",
        "count",
        "distinct stored images that some noise state is within cosine 0.99 of",
    ),
    "recall_grid": (
        "recall examples",
        "1",
        "per example: stored image, its cue's state, a noise query's state",
    ),
}


class RecallObservables(AbstractObservables):
    """Saved after each retrieval iteration: the first `n_cues` states are
    occluded cues of stored patterns 0..n_cues−1, the rest noise queries."""

    patterns: Float[Array, "M d"]
    n_cues: int = eqx.field(static=True)
    n_examples: int = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)

    headline: ClassVar = ("cue_correct", "noise_at_pattern", "replay_coverage")
    units: ClassVar = _R_UNITS

    def __init__(self, patterns, n_cues, n_examples, shape):
        self.patterns = jnp.asarray(patterns)
        self.n_cues, self.n_examples, self.shape = n_cues, n_examples, tuple(shape)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(_R_UNITS)

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return ("example", "recall_panel", *IMG) if name == "recall_grid" else ()

    def __call__(self, t, y, model) -> dict[str, Array]:
        mem = model.memory
        idx, cos = mem.nearest(y)
        c = self.n_cues
        own = jnp.arange(c)
        xn = self.patterns[:c] / jnp.linalg.norm(
            self.patterns[:c], axis=1, keepdims=True
        )
        yn = y[:c] / jnp.maximum(jnp.linalg.norm(y[:c], axis=1, keepdims=True), 1e-30)
        hit = cos[c:] >= 0.99
        e = self.n_examples
        return {
            "cue_correct": jnp.mean((idx[:c] == own) & (cos[:c] >= 0.99)).astype(
                y.dtype
            ),
            "cue_cosine": jnp.mean(jnp.sum(xn * yn, axis=1)),
            "noise_at_pattern": jnp.mean(hit).astype(y.dtype),
            "replay_coverage": coverage(
                idx[c:], cos[c:], self.patterns.shape[0]
            ).astype(y.dtype),
            "recall_grid": recall_grid([self.patterns, y[:c], y[c:]], e, self.shape),
        }
