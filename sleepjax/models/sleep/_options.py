"""Options (static structure) and parameters (leaves) of the sleep model."""

from __future__ import annotations

import dataclasses

from jaxtyping import Array, Float

from ..._errors import Choice, Integer, NonNegative, Positive
from ..._spec import AbstractParams, option, options_info, param
from ...sleep import PRIORITIES
from ..susman import RULES


@dataclasses.dataclass(frozen=True)
class SleepOptions:
    """Static structure of a sleep run (changing it recompiles).

    **Fields:**

    - `n`: number of neurons. Default 64.
    - `dt`: step (time units τ). Default 0.1.
    - `rule`: the Susman network's homeostatic rule (`night`). Default
      `"dissipation"`.
    - `priority`: what orders replay (`night`): `"strength"`, `"recency"`,
      `"prediction_error"` or `"equal"`.
    - `n_cycles`: sleep cycles in a generated night. Default 5.
    """

    n: int = option(64, Integer(4), doc="number of neurons")
    dt: float = option(0.1, Positive(), unit="τ", doc="time step")
    rule: str = option("dissipation", Choice(RULES), doc="homeostatic rule (night)")
    priority: str = option(
        "strength", Choice(PRIORITIES), doc="replay priority of each memory (night)"
    )
    n_cycles: int = option(5, Integer(1), doc="sleep cycles in a generated night")

    def __post_init__(self):
        for info in options_info(type(self)).values():
            info.domain.check(getattr(self, info.name), f"`{info.name}`")


class SleepParams(AbstractParams):
    """Numbers of the sleep model's networks; every field is a leaf.

    Units: time in neuronal time constants τ; rates, weights dimensionless.

    **Fields:**

    - `eta`: learning rate η (1/τ). 0.01.
    - `beta`: dissipation β of the Susman homeostasis (night). 0.1.
    - `noise`: weight noise in units of 1/√N (night). 0.5.
    - `tau_y`: antisymmetric-STDP trace time constant (night). 5.
    - `w0_scale`: initial W = w0_scale·randn/√N. 0.5.
    - `cue`: amplitude of a replay cue (night). 3.
    - `tau_recency`: recency priority time constant, e^(−age/τ) (night). 200.
    - `power`: priority exponent γ, p ∝ x^γ (night). 2.
    """

    eta: Float[Array, ""] = param(
        0.01, NonNegative(), unit="1/τ", doc="learning rate η"
    )
    beta: Float[Array, ""] = param(
        0.1, NonNegative(), unit="1/τ", doc="dissipation β (night)"
    )
    noise: Float[Array, ""] = param(
        0.5, NonNegative(), unit="1/√N", doc="weight noise σ·√N (night)"
    )
    tau_y: Float[Array, ""] = param(
        5.0, Positive(), unit="τ", doc="STDP trace time constant (night)"
    )
    w0_scale: Float[Array, ""] = param(
        0.5, NonNegative(), unit="1/√N", doc="initial W = w0_scale·randn/√N"
    )
    cue: Float[Array, ""] = param(
        3.0, NonNegative(), unit="1", doc="replay cue amplitude (night)"
    )
    tau_recency: Float[Array, ""] = param(
        200.0, Positive(), unit="τ", doc="recency priority time constant (night)"
    )
    power: Float[Array, ""] = param(
        2.0, NonNegative(), unit="1", doc="priority exponent γ (night)"
    )
