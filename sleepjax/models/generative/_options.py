"""Options (static structure) and parameters (leaves) of the generative-memory
models (Spens & Burgess 2024; Deperrois et al. 2022)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from jaxtyping import Array, Float

from ..._errors import ConfigError, Integer, Interval, NonNegative, Positive
from ..._spec import AbstractParams, option, options_info, param


@dataclasses.dataclass(frozen=True)
class GenerativeOptions:
    """Static structure (changing it recompiles).

    **Fields:**

    - `size`: image side, 32 (the reduced VAE: channels 16/32/64) or 64
      (SPEC §4: channels 32/64/128/256). The dreaming networks take 32.
    - `latent`: latent size of the VAE (20) or of the dreaming encoder.
    - `n_stored`: images stored one-shot in the hippocampus (SB: 10,000).
    - `n_replay`: replayed samples, the VAE's whole training set (SB: 10,000).
    - `batch`: mini-batch size (SB: 32; PAD: 64).
    - `patience`: early-stopping patience in epochs (SB: 3; 0: none).
    - `n_train`: training images of the dreaming networks.
    - `width`: the dreaming networks' filter factor (PAD: 64).
    - `wake`, `nrem`, `rem`: the dreaming phases on or off.
    - `similarity`: the hippocampus's score of a memory unit, `"dot"`
      (Spens & Burgess: β x_μ·ξ/√d) or `"equal_norm"` (a variant: every unit
      scored at the patterns' mean norm, so small images stay fixed points
      and noise replays them as often as large ones; see
      `ModernHopfieldMemory`).
    - `palette`: colours of the shapes images (`sleepjax.data.shapes.PALETTES`):
      `"muted"` (an image's norm grows with its object's area) or `"vivid"`
      (every surface saturated alike, as in Shapes3D).
    """

    size: Literal[32, 64] = option(32, doc="image side in pixels (32 or 64)")
    latent: int = option(20, Integer(1), doc="latent dimensions")
    n_stored: int = option(1000, Integer(2), doc="images stored in the hippocampus")
    n_replay: int = option(2048, Integer(1), doc="replayed samples (VAE data)")
    batch: int = option(32, Integer(1), doc="mini-batch size")
    patience: int = option(3, Integer(0), doc="early-stopping patience (epochs)")
    n_train: int = option(2048, Integer(1), doc="dreaming: training images")
    width: int = option(16, Integer(1), doc="dreaming: filter factor")
    wake: bool = option(True, doc="dreaming: wake phase on")
    nrem: bool = option(True, doc="dreaming: NREM (perturbed) phase on")
    rem: bool = option(True, doc="dreaming: REM (adversarial) phase on")
    similarity: Literal["dot", "equal_norm"] = option(
        "dot", doc="hippocampus similarity: dot (paper) or equal_norm (variant)"
    )
    palette: Literal["muted", "vivid"] = option(
        "muted", doc="shapes images' colours: muted or vivid (as Shapes3D)"
    )

    def __post_init__(self):
        for info in options_info(type(self)).values():
            if info.domain is not None:
                info.domain.check(getattr(self, info.name), f"`{info.name}`")
        for name in ("wake", "nrem", "rem"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"`{name}` must be true or false, got {getattr(self, name)!r}."
                )
        if self.batch > self.n_replay:
            raise ConfigError(
                f"`batch` ({self.batch}) must be <= `n_replay` ({self.n_replay})."
            )


class GenerativeParams(AbstractParams):
    """Numbers (leaves, sweepable). Consolidation uses `beta`, `lr`,
    `kl_weight`, `dropout`, `bn_momentum`, `tau_err`; dreaming uses
    `lr_dream`, `beta1_dream`, `rem_noise`, `wake_noise`.

    - `beta`: inverse temperature of the hippocampus, softmax(β Xᵀξ/√d). 20.
    - `lr`: VAE learning rate (AMSGrad). 1e-3.
    - `kl_weight`: weight of the KL term. 1.
    - `dropout`: VAE input dropout rate. 0.2.
    - `bn_momentum`: batch-norm running-statistics momentum. 0.99.
    - `tau_err`: extended model's error threshold on mean_c|x − x̂|. 0.03.
    - `lr_dream`: dreaming networks' Adam learning rate. 2e-4.
    - `beta1_dream`: their Adam β₁. 0.5.
    - `rem_noise`: REM latent z = (1−a)/2 (z_now + z_prev) + a ε, a = 0.5.
    - `wake_noise`: noise added to the wake latent before decoding. 0.
    """

    beta: Float[Array, ""] = param(
        20.0, Positive(), doc="hippocampus inverse temperature"
    )
    lr: Float[Array, ""] = param(1e-3, Positive(), doc="VAE learning rate")
    kl_weight: Float[Array, ""] = param(1.0, NonNegative(), doc="VAE KL weight")
    dropout: Float[Array, ""] = param(
        0.2, Interval(0.0, 0.9), doc="VAE input dropout rate"
    )
    bn_momentum: Float[Array, ""] = param(
        0.99, Interval(0.0, 1.0), doc="batch-norm running-statistics momentum"
    )
    tau_err: Float[Array, ""] = param(
        0.03, NonNegative(), doc="extended model: error threshold (per pixel)"
    )
    lr_dream: Float[Array, ""] = param(2e-4, Positive(), doc="dreaming Adam lr")
    beta1_dream: Float[Array, ""] = param(
        0.5, Interval(0.0, 1.0), doc="dreaming Adam beta1"
    )
    rem_noise: Float[Array, ""] = param(
        0.5, Interval(0.0, 1.0), doc="REM: weight of noise in the dream latent"
    )
    wake_noise: Float[Array, ""] = param(
        0.0, NonNegative(), doc="noise on the wake latent before decoding"
    )
