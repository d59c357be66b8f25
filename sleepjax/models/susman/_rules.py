"""The rules a Susman config can name, one line each: `[model] rule = ...`
picks a homeostatic rule, `[model] stdp = ...` a rate-STDP kernel.

To make a new rule usable from configs, write it in `sleepjax/plasticity/`
(one file) and add its line here: the config layer reads the names from these
tables (no if/elif on names anywhere).
"""

from __future__ import annotations

import jax.random as jr

from ...plasticity import (
    AntisymmetricSTDP,
    Decorrelation,
    Dissipation,
    RateControl,
    RateSTDP,
)

#: name -> (options, params, key) -> rule; dW/dt ⊃ η Δ_F
HOMEOSTASIS = {
    "dissipation": lambda o, p, key: Dissipation(beta=p.beta),
    "rate_control": lambda o, p, key: RateControl(
        jr.uniform(key, (o.n,), minval=-1.0, maxval=1.0), variant=o.rate_control
    ),
    "decorrelation": lambda o, p, key: Decorrelation(
        b=p.b,
        xbar=o.xbar,
        tau_x=p.tau_x,
        code_factor=p.code_factor,
        xbar_gain=p.xbar_gain,
        dt=o.dt,
    ),
}

#: name -> (options, params) -> rule; dW/dt ⊃ η Δ_L
STDP = {
    "antisymmetric": lambda o, p: AntisymmetricSTDP(tau_y=p.tau_y),
    "asymmetric": lambda o, p: RateSTDP(
        a_P=p.a_P, a_D=p.a_D, tau_P=p.tau_P, tau_D=p.tau_D
    ),
}
