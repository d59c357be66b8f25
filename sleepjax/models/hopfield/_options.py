"""Options (static structure) and parameters (leaves) of the Hopfield models."""

from __future__ import annotations

import dataclasses
from typing import Literal

from jaxtyping import Array, Float

from ..._errors import ConfigError, Integer, NonNegative, Positive
from ..._spec import AbstractParams, option, options_info, param

NETWORKS = ("binary_async", "binary_sync", "model_a", "model_b")
BINARY = ("binary_async", "binary_sync")


@dataclasses.dataclass(frozen=True)
class HopfieldOptions:
    """Static structure of a Hopfield network (changing it recompiles).

    **Fields:**

    - `network`: `"binary_async"` / `"binary_sync"` (the classical binary
      network, asynchronous or synchronous sweeps; time in sweeps),
      `"model_a"` (two-layer, L_h = Σ F(h): dense associative memory) or
      `"model_b"` (two-layer, L_h = β⁻¹ log Σ e^{βh}: modern Hopfield).
    - `n`: number of feature neurons N. Default 100.
    - `n_patterns`: number of stored memories M (≥ 2: the observables compare
      the cued memory with the others). Default 10. Load α = M/N.
    - `power`: model A's polynomial degree n, F(x) = max(x, 0)ⁿ/n. Default 3.
    - `rectified`: model A's F rectified (default) or F(x) = xⁿ/n (even n
      only; n = 2 is the classical energy).
    - `dt`: Euler step of the two-layer models (time units of τ_f, τ_h); the
      binary networks step one sweep at a time (dt = 1).
    - `neuron_noise`: white noise σ dB on the feature neurons of the two-layer
      models (σ = the parameter `noise`). Default off.
    """

    network: Literal["binary_async", "binary_sync", "model_a", "model_b"] = option(
        "binary_async", doc="which network: binary (async/sync), model A or model B"
    )
    n: int = option(100, Integer(2), doc="number of feature neurons N")
    n_patterns: int = option(10, Integer(2), doc="number of stored memories M")
    power: int = option(3, Integer(2), doc="model A: degree n of F(x) = max(x,0)^n/n")
    rectified: bool = option(True, doc="model A: F rectified (max(x, 0)) or not")
    dt: float = option(0.05, Positive(), unit="τ", doc="Euler step (two-layer models)")
    neuron_noise: bool = option(False, doc="noise on the feature neurons (model A/B)")

    def __post_init__(self):
        for info in options_info(type(self)).values():
            if info.domain is not None:
                info.domain.check(getattr(self, info.name), f"`{info.name}`")
        for name in ("rectified", "neuron_noise"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"`{name}` must be true or false, got {getattr(self, name)!r}."
                )
        if not self.rectified and self.power % 2:
            raise ConfigError(
                f"`power` = {self.power} with rectified = false: F(x) = x^n/n is "
                "convex only for even n; use an even power or rectified = true."
            )

    @property
    def binary(self) -> bool:
        """True for the classical binary networks (discrete time)."""
        return self.network in BINARY


class HopfieldParams(AbstractParams):
    """Numbers of a Hopfield network; every field is a leaf (sweepable).

    Times are in the units of τ_f (τ_f = 1 by default). The binary networks use
    none of these; model A uses τ_f, τ_h; model B also β; `noise` needs
    `neuron_noise = true`.

    **Fields:**

    - `tau_f`: feature-neuron time constant. 1.
    - `tau_h`: memory-neuron time constant. 0.5.
    - `beta`: model B's inverse temperature, in units of 1/overlap (memories
      have unit norm, so ξ_μ·v ∈ [−1, 1] near a memory). 20.
    - `noise`: feature-neuron noise σ (dv += σ dB, per √time). 0.
    """

    tau_f: Float[Array, ""] = param(
        1.0, Positive(), unit="τ", doc="feature-neuron time constant τ_f"
    )
    tau_h: Float[Array, ""] = param(
        0.5, Positive(), unit="τ", doc="memory-neuron time constant τ_h"
    )
    beta: Float[Array, ""] = param(
        20.0, Positive(), unit="1/overlap", doc="model B inverse temperature β"
    )
    noise: Float[Array, ""] = param(
        0.0, NonNegative(), unit="1/√τ", doc="feature-neuron noise σ"
    )
