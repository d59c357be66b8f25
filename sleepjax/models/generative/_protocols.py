"""The generative-memory experiments from general parts.

- `consolidation` (Spens & Burgess 2024): store images one-shot in the
  hippocampus (`ModernHopfieldMemory`), replay it from uniform noise, and
  train the cortex (`ConvVAE`) on the replays only, one epoch per step of an
  `EpochTrainer`; saves decoding accuracy, reconstruction of noisy and
  occluded items by the basic and the extended model, replay coverage.
- `recall`: the hippocampus alone, retrieval iterated as a map
  (`RetrievalMap`, one model-B Euler step per step): half-occluded cues of
  stored images and uniform-noise replays.
- `dreaming` (Deperrois et al. 2022): wake / NREM / REM training of an
  encoder-discriminator and a generator (see `_dreaming.py`).

Data: the procedural shapes (`sleepjax.data.shapes`), drawn from the run's
key: stored images from its "train" split, items for the extended model from
"validation", decoding items from "test" (never the same image twice).
"""

from __future__ import annotations

from typing import Annotated, Literal

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ..._errors import Integer, Interval, OnGrid
from ..._experiment import Experiment
from ...data.corrupt import drop_elements, occlusion_mask
from ...data.shapes import SHAPES, shapes
from ...dynamics import ModernHopfieldMemory, RetrievalMap
from ...nets import ConvVAE, EpochTrainer, VAEObjective
from ._observables import (
    ConsolidationObservables,
    ExtendedModel,
    RecallObservables,
    recall_grid,
    replay_summary,
)
from ._options import GenerativeOptions, GenerativeParams

Epochs = Annotated[float, OnGrid()]
Fraction = Annotated[float, Interval(0.0, 1.0)]
Count = Annotated[int, Integer(1)]


def _stored(key, opts: GenerativeOptions):
    """Stored images `(M, H, W, 3)`, their patterns 2x − 1 `(M, d)` and their
    shape labels `(M,)`."""
    x, labels = shapes(
        key, opts.n_stored, size=opts.size, split="train", palette=opts.palette
    )
    return x, (2.0 * x - 1.0).reshape(opts.n_stored, -1), labels["shape"]


def _shares(labels, n_classes: int):
    """Fraction of `labels` in each class."""
    return jnp.bincount(labels, length=n_classes) / labels.shape[0]


def hippocampus(opts: GenerativeOptions, patterns, beta) -> ModernHopfieldMemory:
    """The modern Hopfield memory of `patterns` with the options' similarity."""
    return ModernHopfieldMemory(
        patterns, beta, equal_norm=opts.similarity == "equal_norm"
    )


def _half_cues(x, patterns, occlusion):
    """Patterns with the right `occlusion` of each image unknown (0)."""
    keep = jnp.broadcast_to(occlusion_mask(*x.shape[1:3], occlusion), x.shape)
    return jnp.where(keep.reshape(patterns.shape), patterns, 0.0)


def cortex(opts: GenerativeOptions, key: PRNGKeyArray) -> ConvVAE:
    """The VAE for the image size: SPEC §4 at 64, the reduced one at 32."""
    if opts.size == 64:
        return ConvVAE.spens_burgess(key, opts.latent)
    return ConvVAE.small(key, opts.latent)


def consolidation(
    opts: GenerativeOptions,
    p: GenerativeParams,
    key: PRNGKeyArray,
    *,
    epochs: Epochs = 20.0,
    n_fit: Count = 200,
    n_test: Count = 750,
    noise: Fraction = 0.1,
    occlusion: Fraction = 0.5,
    n_items: Count = 32,
    n_cues: Count = 64,
    examples: Count = 6,
    train_on: Literal["replays", "stored"] = "replays",
) -> Experiment:
    """Consolidation: replay from the hippocampus trains the VAE (one step =
    one epoch over the replays; saves at the start of every epoch).

    `train_on = "stored"` is the control without replay: the same VAE trains
    on the stored images themselves (the hippocampus and its read-outs are
    unchanged)."""
    if examples > min(n_items, n_cues, opts.n_stored, opts.n_replay):
        raise ValueError("`examples` must not exceed n_items, n_cues, n_stored.")
    k_data, k_query, k_vae, k_noise = jr.split(key, 4)
    s = opts.size
    stored, X, stored_shape = _stored(k_data, opts)
    data = dict(size=s, palette=opts.palette)
    probe_x, labels = shapes(k_data, n_fit + n_test, split="test", **data)
    items, _ = shapes(k_data, n_items, split="validation", **data)
    memory = hippocampus(opts, X, p.beta)
    queries = jr.uniform(k_query, (opts.n_replay, X.shape[1]), minval=-1.0, maxval=1.0)
    replays = memory.retrieve(queries)
    cov, nearest, _ = replay_summary(memory, replays)
    n_c = min(n_cues, opts.n_stored)
    cues = _half_cues(stored[:n_c], X[:n_c], occlusion)
    retrieved = memory.retrieve(cues)
    idx, cos = memory.nearest(retrieved)
    correct = jnp.mean((idx == jnp.arange(n_c)) & (cos >= 0.99))
    grid = recall_grid(
        [X, cues, retrieved, queries, replays], examples, stored.shape[1:]
    )
    if train_on == "stored":
        if opts.batch > opts.n_stored:
            raise ValueError(
                f"train_on = 'stored': `batch` ({opts.batch}) must be <= "
                f"`n_stored` ({opts.n_stored})."
            )
        data = stored
    else:
        data = jnp.clip((replays + 1.0) / 2.0, 0.0, 1.0).reshape(-1, s, s, 3)
    vae = cortex(opts, k_vae)
    objective = VAEObjective(p.lr, p.kl_weight, p.dropout, p.bn_momentum)
    trainer = EpochTrainer(objective, data, opts.batch, opts.patience)
    observe = ConsolidationObservables(
        probe_x=probe_x,
        probe_y=labels["shape"],
        items=items,
        noisy=drop_elements(k_noise, items, noise),
        occluded=jnp.where(
            occlusion_mask(s, s, occlusion), items, jnp.zeros_like(items)
        ),
        extended=ExtendedModel(p.beta, p.tau_err, opts.similarity == "equal_norm"),
        coverage=cov.astype(X.dtype),
        replay_shapes=_shares(stored_shape[nearest], len(SHAPES)).astype(X.dtype),
        stored_shapes=_shares(stored_shape, len(SHAPES)).astype(X.dtype),
        recall_correct=correct.astype(X.dtype),
        recall_grid=grid,
        n_fit=n_fit,
        n_examples=examples,
    )
    return Experiment(
        trainer,
        trainer.init(vae, vae.init_stats()),
        t0=0.0,
        t1=epochs,
        dt=1.0,
        save_ts=np.arange(int(round(epochs)) + 1, dtype=float),
        observe=observe,
    )


def recall(
    opts: GenerativeOptions,
    p: GenerativeParams,
    key: PRNGKeyArray,
    *,
    iterations: Epochs = 10.0,
    occlusion: Fraction = 0.5,
    n_cues: Count = 64,
    n_noise: Count = 512,
    examples: Count = 6,
) -> Experiment:
    """Hippocampal recall: half-occluded cues of stored images and uniform-noise
    queries, retrieval iterated (one model-B Euler step per step)."""
    n_c = min(n_cues, opts.n_stored)
    if examples > min(n_c, n_noise):
        raise ValueError("`examples` must not exceed n_cues, n_noise, n_stored.")
    k_data, k_query = jr.split(key)
    stored, X, _ = _stored(k_data, opts)
    memory = hippocampus(opts, X, p.beta)
    cues = _half_cues(stored[:n_c], X[:n_c], occlusion)
    noise = jr.uniform(k_query, (n_noise, X.shape[1]), minval=-1.0, maxval=1.0)
    return Experiment(
        RetrievalMap(memory),
        jnp.concatenate([cues, noise]),
        t0=0.0,
        t1=iterations,
        dt=1.0,
        save_ts=np.arange(int(round(iterations)) + 1, dtype=float),
        observe=RecallObservables(X, n_c, examples, stored.shape[1:]),
    )
