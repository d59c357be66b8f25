"""Two small models defined outside the package, registered at run time:
the registry, config, sweep and fit must run them without any change to
sleepjax (tests/test_registry.py, tests/test_iterate.py).

- `toy_map`: a discrete-time noisy rate map (an `AbstractMap`),
  x_{k+1} = (1 − λ) x_k + g·tanh(W x_k) + σ·(u_k − ½), u_k ~ U[0, 1)^n from
  the step's key; W fixed, drawn from the structure key.
- `toy_ode`: a continuous-time noisy leaky unit (an `AbstractSystem`),
  dx = (−x/τ + g·tanh(W x)) dt + σ dB (noise on x only, W a frozen leaf).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, ClassVar

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float

import sleepjax as sj
from sleepjax import (
    AbstractObservables,
    AbstractParams,
    Experiment,
    Integer,
    ModelSpec,
    NonNegative,
    OnGrid,
    Positive,
    Protocol,
    option,
    param,
    save_grid,
)


# ------------------------------------------------------------------ systems
class ToyMap(sj.AbstractMap):
    W: Float[Array, "n n"]
    gain: Float[Array, ""]
    leak: Float[Array, ""]
    sigma: Float[Array, ""]

    def step(self, t, y, key):
        u = jr.uniform(key, y["x"].shape, y["x"].dtype)
        x = (1 - self.leak) * y["x"] + self.gain * jnp.tanh(self.W @ y["x"])
        return {"x": x + self.sigma * (u - 0.5)}


class ToyODE(sj.AbstractSystem):
    W: Float[Array, "n n"]
    gain: Float[Array, ""]
    tau: Float[Array, ""]
    sigma: Float[Array, ""]

    def drift(self, t, y):
        return {"x": -y["x"] / self.tau + self.gain * jnp.tanh(self.W @ y["x"])}

    def noise_shape(self, y):
        return {"x": jax_sds(y["x"])}

    def diffusion(self, t, y, dt):
        return {"x": self.sigma}


def jax_sds(a):
    import jax

    return jax.ShapeDtypeStruct(a.shape, a.dtype)


# ------------------------------------------------------------- observables
class ToyObservables(AbstractObservables):
    families: ClassVar = {"activity": ("x_mean", "x_sq")}
    default_fit: ClassVar = ("activity",)
    headline: ClassVar = ("x_sq",)
    units: ClassVar = {
        "x_mean": ("mean activity", "1", "mean of x over neurons"),
        "x_sq": ("mean square activity", "1", "mean of x² over neurons"),
        "x_first": ("first two units", "1", "x_0 and x_1"),
    }

    @property
    def names(self):
        return ("x_mean", "x_sq", "x_first")

    def dims(self, name, ndim):
        return ("unit",) if name == "x_first" else super().dims(name, ndim)

    def __call__(self, t, y, model):
        x = y["x"]
        return {"x_mean": jnp.mean(x), "x_sq": jnp.mean(x**2), "x_first": x[:2]}


# ------------------------------------------------------- options and params
@dataclasses.dataclass(frozen=True)
class ToyOptions:
    n: int = option(8, Integer(2), doc="units")
    dt: float = option(1.0, Positive(), doc="step")


class ToyParams(AbstractParams):
    gain: Float[Array, ""] = param(0.9, NonNegative(), doc="recurrent gain")
    leak: Float[Array, ""] = param(0.5, NonNegative(), doc="leak λ (map only)")
    tau: Float[Array, ""] = param(2.0, Positive(), doc="time constant (ODE only)")
    sigma: Float[Array, ""] = param(0.1, NonNegative(), doc="noise amplitude")
    x0: Float[Array, ""] = param(1.0, doc="initial activity scale")


def _structure(opts: ToyOptions, p: ToyParams, key):
    kw, kx = jr.split(key)
    W = jr.normal(kw, (opts.n, opts.n)) / np.sqrt(opts.n)
    return W, {"x": p.x0 * jr.normal(kx, (opts.n,))}


def run_map(
    opts: ToyOptions,
    p: ToyParams,
    key,
    *,
    t_end: Annotated[float, OnGrid()] = 20.0,
    save_every: Annotated[float, OnGrid()] = 5.0,
) -> Experiment:
    """Iterate the toy map from a random state."""
    W, y0 = _structure(opts, p, key)
    model = ToyMap(W, p.gain, p.leak, p.sigma)
    return Experiment(
        model,
        y0,
        t0=0.0,
        t1=t_end,
        dt=opts.dt,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=ToyObservables(),
    )


def run_ode(
    opts: ToyOptions,
    p: ToyParams,
    key,
    *,
    t_end: Annotated[float, OnGrid()] = 10.0,
    save_every: Annotated[float, OnGrid()] = 2.0,
) -> Experiment:
    """Integrate the toy ODE from a random state."""
    W, y0 = _structure(opts, p, key)
    model = ToyODE(W, p.gain, p.tau, p.sigma)
    return Experiment(
        model,
        y0,
        t0=0.0,
        t1=t_end,
        dt=opts.dt,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=ToyObservables(),
    )


MAP_SPEC = ModelSpec(
    name="toy_map",
    title="a discrete-time noisy rate map (test model)",
    options=ToyOptions,
    params=ToyParams,
    protocols={"run": Protocol(run_map)},
)
ODE_SPEC = ModelSpec(
    name="toy_ode",
    title="a continuous-time noisy leaky unit (test model)",
    options=ToyOptions,
    params=ToyParams,
    protocols={"run": Protocol(run_ode)},
)


def register_all() -> None:
    sj.register(MAP_SPEC, replace=True)
    sj.register(ODE_SPEC, replace=True)


def unregister_all() -> None:
    sj.unregister(MAP_SPEC.name)
    sj.unregister(ODE_SPEC.name)
