"""The `dreaming` protocol (Deperrois et al. 2022) and what it saves."""

from __future__ import annotations

from typing import Annotated, ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._errors import Integer, Interval, OnGrid
from ..._experiment import Experiment
from ..._spec import AbstractObservables
from ...analysis import probe_accuracy
from ...data.corrupt import occlude_tiles
from ...data.shapes import shapes
from ...nets import DreamEncoder, DreamGenerator, DreamingObjective, EpochTrainer
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
    "recon_error": (
        "reconstruction error",
        "1",
        "mean |x − G(E(x))| on held-out images in [−1, 1]",
    ),
}


class DreamingObservables(AbstractObservables):
    """Linear probe on frozen latents (clean and occluded) and reconstruction,
    at the start of each epoch."""

    x: Float[Array, "n H W 3"]
    y: Int[Array, " n"]
    occluded: Float[Array, "m H W 3"]
    n_fit: int = eqx.field(static=True)

    headline: ClassVar = ("linear_separability", "occlusion_robustness")
    units: ClassVar = _UNITS

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(_UNITS)

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return ()

    def __call__(self, t, y, model) -> dict[str, Array]:
        enc, gen = y.params
        n = self.n_fit
        z = enc(self.x)[0]
        zo = enc(self.occluded)[0]
        y_fit, y_test = self.y[:n], self.y[n:]
        return {
            "linear_separability": probe_accuracy(z[:n], y_fit, z[n:], y_test, 4),
            "occlusion_robustness": probe_accuracy(z[:n], y_fit, zo, y_test, 4),
            "recon_error": jnp.mean(jnp.abs(gen(z[n:]) - self.x[n:])),
        }


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
) -> Experiment:
    """Wake / NREM / REM training (each switchable by the options `wake`,
    `nrem`, `rem`) on shapes at 32×32; saves the linear read-out of the shape
    from clean and from tile-occluded images at the start of every epoch."""
    if opts.size != 32:
        raise ValueError("the dreaming networks take 32×32 images: set size = 32.")
    k_data, k_enc, k_gen, k_occ = jr.split(key, 4)
    x, _ = shapes(k_data, opts.n_train, size=32, split="train")
    hx, labels = shapes(k_data, n_fit + n_test, size=32, split="test")
    hx = 2.0 * hx - 1.0
    obj = DreamingObjective(
        p.lr_dream,
        p.beta1_dream,
        p.rem_noise,
        p.wake_noise,
        wake=opts.wake,
        nrem=opts.nrem,
        rem=opts.rem,
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
        observe=DreamingObservables(hx, labels["shape"], occluded, n_fit),
    )
