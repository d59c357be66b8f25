"""Options (static structure) and parameters (leaves) of the two-factor model."""

from __future__ import annotations

import dataclasses
from typing import Literal

from jaxtyping import Array, Float

from ..._errors import ConfigError, Integer, Interval, NonNegative, Positive
from ..._spec import AbstractParams, option, options_info, param


@dataclasses.dataclass(frozen=True)
class TwoFactorOptions:
    """Static structure of a network (changing it recompiles).

    **Fields:**

    - `n`: number of neurons N. Default 1000 (the paper's).
    - `alpha`: load α = M/N; the network stores M = round(αN) patterns.
      Default 0.2 (Fig. 3, low load).
    - `f`: coding level: the fraction of active units per pattern. 0.05.
    - `z`: factors per synapse, w = Π_k u^(k). Default 2.
    - `patterns`: `"exact"` (exactly round(fN) ones per pattern, Fig. 3) or
      `"bernoulli"` (each unit active with probability f, Fig. 2 and the
      capacity theory).
    - `pruning`: permanent pruning of synapses whose weight falls to
      ≤ 1e-10 (the model; default). Off: a synapse clipped at the floor may
      regrow (the plain projected perceptron, for the capacity of the
      sign-constrained perceptron itself).
    """

    n: int = option(1000, Integer(4), doc="number of neurons N")
    alpha: float = option(
        0.2, Interval(0.0, 50.0, open=True), doc="load α = M/N (M = round(αN))"
    )
    f: float = option(0.05, Interval(0.0, 1.0, open=True), doc="coding level f")
    z: int = option(2, Integer(1), doc="factors per synapse z (w = Π u)")
    patterns: Literal["exact", "bernoulli"] = option(
        "exact", doc="patterns: exactly round(fN) ones, or Bernoulli(f) units"
    )
    pruning: bool = option(
        True, doc="permanent pruning (w ≤ 1e-10); off: clipped synapses may regrow"
    )

    def __post_init__(self):
        for info in options_info(type(self)).values():
            if info.domain is not None:
                info.domain.check(getattr(self, info.name), f"`{info.name}`")
        if not isinstance(self.pruning, bool):
            raise ConfigError(f"`pruning` must be true or false, got {self.pruning!r}.")
        if self.m < 2:
            raise ConfigError(
                f"`alpha` = {self.alpha} stores round(αN) = {self.m} pattern(s) at "
                f"n = {self.n}; at least 2 are needed."
            )
        k = round(self.f * self.n)
        if not 1 <= k <= self.n - 1:
            raise ConfigError(
                f"`f` = {self.f} gives round(fN) = {k} active units at n = "
                f"{self.n}; it must be between 1 and N - 1."
            )

    @property
    def m(self) -> int:
        """Number of stored patterns M = round(αN)."""
        return int(round(self.alpha * self.n))

    @property
    def k(self) -> int:
        """Active units per pattern under k-WTA: round(fN)."""
        return int(round(self.f * self.n))


class TwoFactorParams(AbstractParams):
    """Numbers of a network; every field is a leaf (sweepable). Defaults are
    the wake–sleep setting of Fig. 3 (N = 1000, f = 0.05, z = 2); the
    consolidation of Fig. 2 (f = 0.5) uses u0 = 0.1, spread = 0.3 and
    (z = 1, 2, 3, 4) L = 10/20/50/50, η = 1e-4/5e-3/7e-3/7e-3,
    η_θ = 1e-3/5e-3/7e-3/7e-3, β = 100.

    Factors, weights and fields are dimensionless (a field is in units of
    one weight); rates are per epoch.

    **Fields:**

    - `u0`: initial value of every factor. 0.6.
    - `spread`: initial factors are uniform in u0·[1 − spread, 1 + spread]. 0.
    - `length`: homeostatic budget L: Σ_{j,k} u_ij² = zL per neuron. 70.
    - `eta`: consolidation rate η (supervised: constant; sleep: η_0 of the
      ramp). 0.01.
    - `eta_theta`: supervised threshold rate η_θ. 0.01.
    - `eta_wake`: wake Hebbian rate (per unit of k-WTA shift). 0.01.
    - `eta_max`: end point of the sleep ramp (z > 1). 0.4.
    - `ramp_tau`: time constant of the sleep ramp, epochs. 40.
    - `beta`: soft-min inverse temperature β (fields relative to their mean
      magnitude). 20.
    """

    u0: Float[Array, ""] = param(0.6, Positive(), doc="initial factor value u0")
    spread: Float[Array, ""] = param(
        0.0, Interval(0.0, 1.0), doc="relative spread of the initial factors"
    )
    length: Float[Array, ""] = param(
        70.0, Positive(), doc="homeostatic budget L (Σ_jk u² = zL)"
    )
    eta: Float[Array, ""] = param(
        0.01, Positive(), unit="1/epoch", doc="consolidation rate η (sleep: η_0)"
    )
    eta_theta: Float[Array, ""] = param(
        0.01, NonNegative(), unit="1/epoch", doc="supervised threshold rate η_θ"
    )
    eta_wake: Float[Array, ""] = param(
        0.01, NonNegative(), unit="1/pattern", doc="wake Hebbian rate"
    )
    eta_max: Float[Array, ""] = param(
        0.4, Positive(), unit="1/epoch", doc="sleep rate ramp end point (z > 1)"
    )
    ramp_tau: Float[Array, ""] = param(
        40.0, Positive(), unit="epoch", doc="sleep rate ramp time constant"
    )
    beta: Float[Array, ""] = param(
        20.0, Positive(), doc="soft-min inverse temperature β"
    )
