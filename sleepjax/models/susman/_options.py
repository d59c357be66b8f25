"""Options (static structure) and parameters (leaves) of the Susman model."""

from __future__ import annotations

import dataclasses
from typing import Literal

from jaxtyping import Array, Float

from ..._errors import Choice, Integer, NonNegative, Positive
from ..._spec import AbstractParams, option, options_info, param
from ._rules import HOMEOSTASIS, STDP

RULES = tuple(HOMEOSTASIS)
CODES = ("imaginary", "real")


@dataclasses.dataclass(frozen=True)
class SusmanOptions:
    """Static structure of a Susman network (changing it recompiles).

    **Fields:**

    - `n`: number of neurons. Default 128.
    - `rule`: homeostasis, `"dissipation"`, `"rate_control"` or
      `"decorrelation"`.
    - `dt`: step (time units). Default 0.1.
    - `rate_control`: `"matmul"` (authors' code, default) or `"hadamard"`
      (paper).
    - `xbar`: decorrelation x̄, `"lowpass"` (paper, default), `"code"` (the
      code's fixed point x̄ = c·x) or `"exact"` (the code's per-step update:
      x̄ ← (dt/τ_x)(g·x − x̄), then tanh(x + dt·ẋ − x̄); depends on dt).
      Use `"exact"` to reproduce the authors' erosion curves: with a true
      low-pass and B = 0.5 (or the paper's B = 1) the B·I term grows W's
      diagonal once x̄ ≈ x, and the imaginary memory is lost by t ≈ 10⁴.
    - `noise_form`: `"sde"` (default, Wiener increments) or `"code"` (η·dt·ξ).
    - `stdp`: `"antisymmetric"` (default) or `"asymmetric"` (a_P, a_D, τ_P,
      τ_D).
    """

    n: int = option(128, Integer(2), doc="number of neurons")
    rule: str = option("dissipation", Choice(RULES), doc="homeostatic rule")
    dt: float = option(0.1, Positive(), unit="τ", doc="time step")
    rate_control: Literal["matmul", "hadamard"] = option(
        "matmul", doc="rate control: the authors' matrix product or the paper's"
    )
    xbar: Literal["lowpass", "code", "exact"] = option(
        "lowpass",
        doc="decorrelation x̄: a true low-pass, the code's c·x, or the code's "
        "exact per-step update",
    )
    noise_form: Literal["sde", "code"] = option(
        "sde", doc="weight noise: Wiener increments or the code's η·dt·ξ"
    )
    stdp: str = option("antisymmetric", Choice(tuple(STDP)), doc="rate STDP kernel")

    def __post_init__(self):
        for info in options_info(type(self)).values():
            info.domain.check(getattr(self, info.name), f"`{info.name}`")


class SusmanParams(AbstractParams):
    """Numbers of a Susman network; every field is a leaf (sweepable, fittable).

    Defaults are the authors' code (SPEC.md §1). Units: time in neuronal time
    constants τ; rates, weights and inputs dimensionless.

    **Fields:**

    - `eta`: learning rate η (per time unit). 0.01.
    - `tau_y`: antisymmetric-STDP trace time constant. 50 (paper).
    - `a_P`, `a_D`, `tau_P`, `tau_D`: asymmetric STDP (`stdp="asymmetric"`).
    - `beta`: dissipation rate β. 0.1.
    - `noise`: weight-noise amplitude in units of 1/√N (σ = noise/√N). 1.
    - `b`: decorrelation constant B. 0.5 (code; paper 1).
    - `tau_x`: decorrelation low-pass time constant. 20.
    - `code_factor`: x̄ = c·x for `xbar="code"`. 0.0995.
    - `xbar_gain`: g in x̄ ← (dt/τ_x)(g·x − x̄) for `xbar="exact"`: 20 (the
      code's 1/5e-2, erosion and rate control; decorrelation learning: 100).
    - `strength`: inserted memory strength. 5.
    - `amplitude`: OU input amplitude A. 10.
    - `zeta`: OU input decay ζ. 0.01.
    - `w0_scale`: initial W = w0_scale·randn/√N. 2.
    """

    eta: Float[Array, ""] = param(
        0.01, NonNegative(), unit="1/τ", doc="learning rate η"
    )
    tau_y: Float[Array, ""] = param(
        50.0, Positive(), unit="τ", doc="antisymmetric STDP trace time constant"
    )
    a_P: Float[Array, ""] = param(1.0, doc="asymmetric STDP potentiation amplitude")
    a_D: Float[Array, ""] = param(-1.0, doc="asymmetric STDP depression amplitude")
    tau_P: Float[Array, ""] = param(
        50.0, Positive(), unit="τ", doc="potentiation trace time constant"
    )
    tau_D: Float[Array, ""] = param(
        50.0, Positive(), unit="τ", doc="depression trace time constant"
    )
    beta: Float[Array, ""] = param(0.1, NonNegative(), unit="1/τ", doc="dissipation β")
    noise: Float[Array, ""] = param(
        1.0, NonNegative(), unit="1/√N", doc="weight-noise amplitude (σ = noise/√N)"
    )
    b: Float[Array, ""] = param(0.5, doc="decorrelation constant B")
    tau_x: Float[Array, ""] = param(
        20.0, Positive(), unit="τ", doc="decorrelation low-pass time constant"
    )
    code_factor: Float[Array, ""] = param(0.0995, doc="x̄ = c·x with xbar = 'code'")
    xbar_gain: Float[Array, ""] = param(
        20.0, doc="g of x̄ ← (dt/τ_x)(g·x − x̄) with xbar = 'exact'"
    )
    strength: Float[Array, ""] = param(5.0, doc="inserted memory strength")
    amplitude: Float[Array, ""] = param(10.0, doc="OU input amplitude A")
    zeta: Float[Array, ""] = param(0.01, NonNegative(), unit="1/τ", doc="OU decay ζ")
    w0_scale: Float[Array, ""] = param(
        2.0, NonNegative(), unit="1/√N", doc="initial W = w0_scale·randn/√N"
    )


PARAM_NAMES = tuple(f.name for f in dataclasses.fields(SusmanParams))
