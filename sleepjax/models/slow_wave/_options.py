"""Options (static structure) and parameters (leaves) of the slow-wave model."""

from __future__ import annotations

import dataclasses
from typing import Literal

from jaxtyping import Array, Float

from ..._errors import ConfigError, Integer, Interval, NonNegative, Positive, Real
from ..._spec import AbstractParams, option, options_info, param


@dataclasses.dataclass(frozen=True)
class SlowWaveOptions:
    """Static structure (changing it recompiles).

    **Fields:**

    - `n_pop`: populations of the network (4). `n_exc`, `n_inh`: E and I
      cells per population (200, 50).
    - `n_inputs`: plastic inputs onto E cell 0 of the network (100).
    - `n_stim`: stimulated (plastic) inputs of the single neuron and of the
      network STDP protocol (20).
    - `n_background`: background inputs of the single neuron (100).
    - `baseline`: the single neuron's ḡ: `"online"` (a running mean of the
      intensity its background alone gives, time constant `tau_gbar`) or
      `"fixed"` (the parameter `g_bar`). The network always uses the
      instantaneous mean g of population 1's E cells.
    - `n_x`, `n_y`: the rate lattice of the `waves` protocol (`n_y` = 1: a
      chain).
    - `rate_dt`: Euler step of the rate lattice (ms).
    """

    n_pop: int = option(4, Integer(2), doc="number of populations")
    n_exc: int = option(200, Integer(2), doc="E cells per population")
    n_inh: int = option(50, Integer(1), doc="I cells per population")
    n_inputs: int = option(100, Integer(2), doc="plastic inputs onto E cell 0")
    n_stim: int = option(20, Integer(1), doc="stimulated inputs (STDP protocols)")
    n_background: int = option(100, Integer(1), doc="background inputs (single cell)")
    baseline: Literal["online", "fixed"] = option(
        "online", doc="single neuron's ḡ: running mean of g, or the parameter g_bar"
    )
    n_x: int = option(24, Integer(1), doc="rate lattice: sites along x")
    n_y: int = option(1, Integer(1), doc="rate lattice: sites along y (1: chain)")
    rate_dt: float = option(0.5, Positive(), unit="ms", doc="rate lattice Euler step")

    def __post_init__(self):
        for info in options_info(type(self)).values():
            if info.domain is not None:
                info.domain.check(getattr(self, info.name), f"`{info.name}`")
        if self.n_stim > self.n_inputs:
            raise ConfigError(
                f"`n_stim` ({self.n_stim}) must be <= `n_inputs` ({self.n_inputs})."
            )


def _p(default, domain, unit, doc):
    return param(default, domain, unit=unit, doc=doc)


class SlowWaveParams(AbstractParams):
    """Numbers of the model (Yoshida & Toyoizumi 2023, SPEC §3); every field a
    leaf. Rates are in Hz here and converted to 1/ms inside."""

    # neurons
    u_rest: Float[Array, ""] = _p(-70.0, Real(), "mV", "resting potential u_r")
    tau_e: Float[Array, ""] = _p(25.0, Positive(), "ms", "E membrane time constant")
    tau_i: Float[Array, ""] = _p(5.0, Positive(), "ms", "I membrane time constant")
    gain_e: Float[Array, ""] = _p(1.5, Positive(), "Hz", "E gain scale r_E")
    theta_e: Float[Array, ""] = _p(-69.4, Real(), "mV", "E gain threshold")
    gain_i: Float[Array, ""] = _p(6.0, Positive(), "Hz", "I gain scale r_I")
    theta_i: Float[Array, ""] = _p(-62.5, Real(), "mV", "I gain threshold")
    width: Float[Array, ""] = _p(0.5, Positive(), "mV", "gain width δ")
    tau_ref: Float[Array, ""] = _p(30.0, Positive(), "ms", "refractory scale")
    tau_a: Float[Array, ""] = _p(1500.0, Positive(), "ms", "E adaptation decay")
    beta: Float[Array, ""] = _p(0.0077, NonNegative(), "mV/ms", "adaptation per spike")
    # network
    w_ee: Float[Array, ""] = _p(0.16, NonNegative(), "mV", "E→E weight")
    w_ie: Float[Array, ""] = _p(0.66, NonNegative(), "mV", "E→I weight")
    w_ei: Float[Array, ""] = _p(-0.14, Real(), "mV", "I→E weight (within)")
    p_ee: Float[Array, ""] = _p(0.05, Interval(0, 1), "1", "E→E p between pops")
    p_ie: Float[Array, ""] = _p(0.3, Interval(0, 1), "1", "E→I p between pops")
    up_threshold: Float[Array, ""] = _p(-68.25, Real(), "mV", "down→up mean u")
    down_threshold: Float[Array, ""] = _p(-69.75, Real(), "mV", "up→down mean u")
    # plasticity
    alpha: Float[Array, ""] = _p(0.01, NonNegative(), "mV²", "learning rate α")
    lam: Float[Array, ""] = _p(0.32, NonNegative(), "1/mV²", "weight cost λ")
    tau_c: Float[Array, ""] = _p(100.0, Positive(), "ms", "eligibility trace τ_c")
    g_bar: Float[Array, ""] = _p(0.5, Positive(), "Hz", "fixed baseline ḡ")
    tau_gbar: Float[Array, ""] = _p(1000.0, Positive(), "ms", "online ḡ time constant")
    w_background: Float[Array, ""] = _p(0.5, Real(), "mV", "background input weight")
    # rate lattice (waves)
    wave_drive: Float[Array, ""] = _p(-3.0, Real(), "1", "E drive I_E")
    wave_gradient: Float[Array, ""] = _p(0.0, Real(), "1", "I_E change end to end")
    wave_b: Float[Array, ""] = _p(3.0, NonNegative(), "1", "adaptation strength b")
    wave_tau_a: Float[Array, ""] = _p(250.0, Positive(), "ms", "adaptation τ_a")
    wave_coupling: Float[Array, ""] = _p(3.0, NonNegative(), "1", "coupling c")
    wave_noise: Float[Array, ""] = _p(0.01, NonNegative(), "1/√ms", "noise σ on r_E")
