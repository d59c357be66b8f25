"""Noise models: which state components receive Wiener increments, and how much."""

from __future__ import annotations

from typing import Literal

import equinox as eqx

from ._errors import as_param, check_choice, check_positive
from ._types import Scalar

NoiseForm = Literal["sde", "code"]


class WeightNoise(eqx.Module):
    r"""Additive white noise on every weight (Susman et al.'s ξ).

    With learning rate $\eta$ (from the model),

    - `form="sde"` (default): $dW \mathrel{+}= \eta\,\sigma\,dB_t$, a true SDE:
      each $\xi_{ij}$ is white noise with variance $\sigma^2$ per unit time, and the
      statistics do not depend on the step size.
    - `form="code"`: the authors' per-step scaling, $W \mathrel{+}= \eta\,dt\,\sigma z$
      with $z\sim\mathcal N(0,1)$ each step (variance ∝ dt²). Use only to
      reproduce the published figures.

    The paper's default is $\sigma^2 = 1/N$.

    **Arguments:**

    - `sigma`: noise amplitude σ (per √time unit for `sde`).
    - `form`: `"sde"` or `"code"`.
    """

    sigma: Scalar = eqx.field(converter=lambda v: as_param(v, "sigma"))
    form: NoiseForm = eqx.field(static=True, default="sde")

    def __check_init__(self):
        check_positive("WeightNoise.sigma", self.sigma, allow_zero=True)
        check_choice("WeightNoise.form", self.form, ("sde", "code"))


class NeuronNoise(eqx.Module):
    r"""Additive white noise on the neurons' input: $dx \mathrel{+}= \sigma\,dB_t$.

    **Arguments:**

    - `sigma`: amplitude (per √time unit).
    - `form`: `"sde"` (default) or `"code"` (σ·dt·z per step).
    """

    sigma: Scalar = eqx.field(converter=lambda v: as_param(v, "sigma"))
    form: NoiseForm = eqx.field(static=True, default="sde")

    def __check_init__(self):
        check_positive("NeuronNoise.sigma", self.sigma, allow_zero=True)
        check_choice("NeuronNoise.form", self.form, ("sde", "code"))
