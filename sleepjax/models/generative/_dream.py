"""The `dreaming` protocol (Deperrois et al. 2022) and what it saves."""

from __future__ import annotations

from typing import Annotated, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._errors import Integer, Interval, OnGrid
from ..._experiment import Experiment
from ..._spec import AbstractObservables
from ...analysis import class_distances, paired_distance, probe_accuracy
from ...data.corrupt import occlude_tiles
from ...data.shapes import shapes
from ...nets import DreamEncoder, DreamGenerator, DreamingObjective, EpochTrainer
from ...sleep import STAGES, Hypnogram, nightly
from ._options import GenerativeOptions, GenerativeParams

_UNITS = {
    "linear_separability": (
        "linear separability of the latents",
        "1",
        "shape read out from the encoder's latents by logistic regression "
        "(fitted and tested on held-out clean images)",
    ),
    "occlusion_robustness": (
        "read-out of occluded images",
        "1",
        "accuracy of the same read-out (fitted on clean latents) on latents of "
        "tile-occluded test images",
    ),
    "occlusion_distance": (
        "clean–occluded latent distance / between-class distance",
        "1",
        "mean squared distance between a test image's latent and its "
        "tile-occluded version's, over the mean squared distance between "
        "latents of different shapes (Deperrois et al. Fig. 6f; lower: the "
        "latent ignores occlusion)",
    ),
    "class_distance": (
        "within-class / between-class latent distance",
        "1",
        "mean squared distance between latents of test images of the same "
        "shape, over that between different shapes (Deperrois et al. Fig. 6e; "
        "lower: shapes cluster)",
    ),
    "recon_error": (
        "reconstruction error",
        "1",
        "mean |x − G(E(x))| on held-out images in [−1, 1]",
    ),
}
_NIGHT_UNITS = {
    "stage_share": (
        "share of the epoch's mini-batches in each stage",
        "1",
        "WAKE, N1, N2, N3, REM (stage codes 0-4) over the epoch that starts "
        "at the save time",
    ),
    "stages": (
        "stage of each mini-batch",
        "1",
        "stage code (0-4: WAKE, N1, N2, N3, REM) of each mini-batch of the "
        "epoch that starts at the save time, in training order",
    ),
}


class DreamingObservables(AbstractObservables):
    """Linear probe on frozen latents (clean and occluded), the latents'
    distance ratios and reconstruction, at the start of each epoch."""

    x: Float[Array, "n H W 3"]
    y: Int[Array, " n"]
    occluded: Float[Array, "m H W 3"]
    n_fit: int = eqx.field(static=True)
    n_batches: int = eqx.field(static=True, default=0)

    headline: ClassVar = ("linear_separability", "occlusion_robustness")
    units: ClassVar = {**_UNITS, **_NIGHT_UNITS}

    @property
    def names(self) -> tuple[str, ...]:
        """With nights (`n_batches` > 0) also the stage shares."""
        return tuple(_UNITS) + (tuple(_NIGHT_UNITS) if self.n_batches else ())

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return {"stage_share": ("stage",), "stages": ("batch",)}.get(name, ())

    def __call__(self, t, y, model) -> dict[str, Array]:
        enc, gen = y.params
        n = self.n_fit
        z = enc(self.x)[0]
        zo = enc(self.occluded)[0]
        y_fit, y_test = self.y[:n], self.y[n:]
        within, between = class_distances(z[n:], y_test, 4)
        out = {
            "linear_separability": probe_accuracy(z[:n], y_fit, z[n:], y_test, 4),
            "occlusion_robustness": probe_accuracy(z[:n], y_fit, zo, y_test, 4),
            "occlusion_distance": paired_distance(z[n:], zo) / between,
            "class_distance": within / between,
            "recon_error": jnp.mean(jnp.abs(gen(z[n:]) - self.x[n:])),
        }
        if self.n_batches:
            ts = t + jnp.arange(self.n_batches) / self.n_batches
            stage = jax.vmap(model.objective.night.stage_at)(ts)
            out["stage_share"] = jnp.mean(
                stage[:, None] == jnp.arange(len(STAGES)), axis=0
            ).astype(z.dtype)
            out["stages"] = stage.astype(z.dtype)
        return out


def days_and_nights(
    key: PRNGKeyArray,
    epochs: float,
    nights: int,
    wake_fraction: float,
    n_cycles: int,
    **disorders,
) -> Hypnogram:
    """`nights` days of `epochs / nights` epochs: wake for the first
    `wake_fraction` of each, then a generated night of `n_cycles` 90-minute
    cycles scaled to fill the rest of the day exactly (no cycle-length
    jitter, so a night never runs into the next day); `disorders` as
    `sleepjax.sleep.generate` (per minute of a cycle)."""
    day = epochs / nights
    sleep_len = (1.0 - wake_fraction) * day
    return nightly(
        key,
        nights,
        period=day,
        t0=wake_fraction * day,
        n_cycles=n_cycles,
        cycle=90.0,
        cycle_cv=0.0,
        time_scale=sleep_len / (90.0 * n_cycles),
        **disorders,
    )


def dreaming(
    opts: GenerativeOptions,
    p: GenerativeParams,
    key: PRNGKeyArray,
    *,
    epochs: Annotated[float, OnGrid()] = 10.0,
    n_fit: Annotated[int, Integer(1)] = 1000,
    n_test: Annotated[int, Integer(1)] = 1000,
    occlusion: Annotated[float, Interval(0.0, 1.0)] = 0.3,
    tile: Annotated[int, Integer(1)] = 4,
    nights: Annotated[int, Integer(0)] = 0,
    wake_fraction: Annotated[float, Interval(0.0, 1.0)] = 2 / 3,
    n_cycles: Annotated[int, Integer(1)] = 4,
    rem_deprivation: Annotated[float, Interval(0.0, 1.0)] = 0.0,
    n3_suppression: Annotated[float, Interval(0.0, 1.0)] = 0.0,
    fragmentation: Annotated[float, Interval(0.0, 10.0)] = 0.0,
) -> Experiment:
    """Wake / NREM / REM training (each switchable by the options `wake`,
    `nrem`, `rem`) on shapes at 32×32; saves, at the start of every epoch,
    the linear read-out of the shape from clean and from tile-occluded
    images (`occlusion`, `tile`) and two distance ratios of the latents:
    within / between shapes, and clean-to-occluded / between shapes.

    `nights = 0`: every mini-batch runs every phase (PAD). `nights = K`: the
    `epochs` are K days, each a wake period (`wake_fraction` of the day)
    and then a generated night of `n_cycles` sleep cycles (`sleepjax.sleep.
    nightly`; N3 early, REM late; `rem_deprivation`, `n3_suppression` and
    `fragmentation` as there, per minute of a 90-minute cycle); each
    mini-batch runs the phase of its stage (wake in WAKE, NREM in N2/N3,
    REM in REM), and the run saves each epoch's stage shares."""
    if opts.size != 32:
        raise ValueError("the dreaming networks take 32×32 images: set size = 32.")
    if nights and not 0.0 < wake_fraction < 1.0:
        raise ValueError(
            f"`wake_fraction` must be strictly between 0 and 1 with nights, got "
            f"{wake_fraction}."
        )
    if nights and not (epochs / nights) * (1 - wake_fraction) * opts.n_train >= (
        4 * n_cycles * opts.batch
    ):
        raise ValueError(
            f"{nights} nights of {n_cycles} cycles in {epochs:g} epochs give a "
            f"cycle fewer than 4 mini-batches: use fewer nights or cycles, or "
            f"more epochs."
        )
    k_data, k_enc, k_gen, k_occ = jr.split(key, 4)
    night = None
    if nights:
        night = days_and_nights(
            jr.fold_in(key, 5),
            epochs,
            nights,
            wake_fraction,
            n_cycles,
            rem_deprivation=rem_deprivation,
            n3_suppression=n3_suppression,
            fragmentation=fragmentation,
        )
    data = dict(size=32, palette=opts.palette)
    x, _ = shapes(k_data, opts.n_train, split="train", **data)
    hx, labels = shapes(k_data, n_fit + n_test, split="test", **data)
    hx = 2.0 * hx - 1.0
    obj = DreamingObjective(
        p.lr_dream,
        p.beta1_dream,
        p.rem_noise,
        p.wake_noise,
        wake=opts.wake,
        nrem=opts.nrem,
        rem=opts.rem,
        night=night,
    )
    trainer = EpochTrainer(obj, 2.0 * x - 1.0, opts.batch, patience=0)
    params = (
        DreamEncoder(k_enc, opts.width, opts.latent),
        DreamGenerator(k_gen, opts.width, opts.latent),
    )
    state0 = trainer.init(params, obj.init_memory(opts.batch, opts.latent, x.dtype))
    occluded = occlude_tiles(k_occ, hx[n_fit:], occlusion, tile, value=0.0)
    return Experiment(
        trainer,
        state0,
        t0=0.0,
        t1=epochs,
        dt=1.0,
        save_ts=np.arange(int(round(epochs)) + 1, dtype=float),
        observe=DreamingObservables(
            hx,
            labels["shape"],
            occluded,
            n_fit,
            opts.n_train // opts.batch if nights else 0,
        ),
    )
