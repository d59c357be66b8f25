"""Capacity (paper, Supplementary Note 2): M imaginary-coded planes stored at
once, W = U D Uᵀ with γ = 0, run by the discrete-time map
x(t+1) = W tanh(x(t)); a cue near one plane is retrieved when the network
settles on that plane's cycle.

With binary planes (u_k, v_k entries ±1/√N, independent across planes, so
planes overlap by chance as Hopfield memories do) and
W = ρ Σ_k (u_k v_kᵀ − v_k u_kᵀ), one plane alone maps x = a√N·u to
−ρ tanh(a)√N·v and then to −ρ tanh(ρ tanh a)√N·u: a rotation by a quarter
turn per step, a period-4 cycle of amplitude a* = ρ tanh a* (ρ > 1). The
other planes add crosstalk of relative size ~√(2M/N), as the other memories
do in a Hopfield network at load M/N: each plane holds two patterns, hence
the paper's normalisation of the load by two (2M/N against Hopfield's M/N).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import Integer, Interval
from ..._experiment import Experiment, save_grid
from ..._spec import AbstractObservables
from ...dynamics import FactoredRateMap
from ._options import SusmanOptions

_UNITS = {
    "m_cue": (
        "overlap with the cued plane",
        "1",
        "|projection of tanh(x) onto span(u₀, v₀)| / |tanh(x)| (1: on the plane)",
    ),
    "m_other": (
        "largest overlap with another plane",
        "1",
        "max over the other stored planes of the same overlap",
    ),
    "radius": (
        "radius in the cued plane",
        "1",
        "√(p_u² + p_v²) with p = (u₀ᵀx, v₀ᵀx)/√N (x = a√N·u₀ has radius a)",
    ),
    "retrieved": (
        "on the cued plane",
        "1",
        "1 if m_cue ≥ threshold at this step, else 0",
    ),
}


def cycle_amplitude(rho, iterations: int = 200):
    """a* > 0 with a* = ρ tanh(a*) (ρ > 1), by iterating a ← ρ tanh a from
    a = ρ (a contraction near a*: the slope ρ/cosh²a* < 1)."""
    a = jnp.asarray(rho, dtype=jnp.result_type(float))
    return jax.lax.fori_loop(0, iterations, lambda _, a: rho * jnp.tanh(a), a)


class CapacityObservables(AbstractObservables):
    """Overlaps of the rates with the stored planes at each step (scalars, so
    networks of every size share one store). `U`: `(N, 2P)` columns
    u₀, v₀, u₁, v₁, …; `active`: `(P,)` 1 for the stored planes (the rest
    are padding); `threshold`: the retrieval overlap."""

    U: Float[Array, "N r"]
    active: Float[Array, " P"]
    threshold: Float[Array, ""]

    units: ClassVar = _UNITS
    families: ClassVar = {"retrieval": ("m_cue", "m_other", "radius")}
    default_fit: ClassVar = ("m_cue",)
    headline: ClassVar = ("m_cue", "m_other", "retrieved")
    time_units: ClassVar = "steps of the map"

    @property
    def names(self) -> tuple[str, ...]:
        return ("m_cue", "m_other", "radius", "retrieved")

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return ()

    def __call__(self, t, y, model) -> dict[str, Array]:
        phi = jnp.tanh(y)
        proj = (self.U.T @ phi).reshape(-1, 2)  # (P, 2): u_k·φ, v_k·φ
        norm = jnp.sqrt(jnp.sum(phi * phi))
        m = jnp.sqrt(jnp.sum(proj**2, axis=1)) / jnp.where(norm > 0, norm, 1.0)
        xy = self.U[:, :2].T @ y / jnp.sqrt(jnp.asarray(y.shape[0], y.dtype))
        m_other = jnp.max(jnp.where(self.active[1:] > 0, m[1:], 0.0))
        return {
            "m_cue": m[0],
            "m_other": m_other,
            "radius": jnp.sqrt(jnp.sum(xy**2)),
            "retrieved": (m[0] >= self.threshold).astype(y.dtype),
        }


def capacity(
    opts: SusmanOptions,
    key: PRNGKeyArray,
    *,
    load: Annotated[float, Interval(0.0, 0.5)] = 0.05,
    rho: Annotated[float, Interval(1.0, 1e3, open=True)] = 10.0,
    corruption: Annotated[float, Interval(0.0, 0.5)] = 0.1,
    threshold: Annotated[float, Interval(0.0, 1.0, open=True)] = 0.95,
    t_end: Annotated[int, Integer(4)] = 40,
) -> Experiment:
    """Capacity (paper Supplementary Note 2): M = max(1, round(load·N))
    imaginary planes (binary, independent) stored as W = U D Uᵀ with
    rotation `rho` and γ = 0, run by x(t+1) = W tanh(x(t)) for `t_end` steps
    from a cue on plane 0: x(0) = a*·√N·ũ₀ with a* = ρ tanh a* and ũ₀ = u₀
    with a fraction `corruption` of its entries flipped (the first ones:
    u₀'s signs are i.i.d., so any fixed set is a random subset). The default
    ρ = 10 saturates tanh (the map is then closest to a binary network);
    the capacity falls at small ρ (near 1 the cycle's amplitude vanishes).
    Saves the overlaps every step; the report calls a network retrieved
    when the overlap with the cued plane is ≥ `threshold` at each of the
    last 4 steps (the whole cycle). `load` is numeric: one compiled call per
    N for every load."""
    n = opts.n
    if n % 2:
        raise ValueError(
            f"capacity stores planes of 2 vectors: n must be even, got {n}."
        )
    p_max = n // 2
    dtype = jnp.result_type(float)
    U = jr.rademacher(key, (n, 2 * p_max), dtype=dtype) / np.sqrt(n)
    m = jnp.maximum(1, jnp.round(load * n))
    active = (jnp.arange(p_max) < m).astype(dtype)
    block = jnp.array([[0.0, 1.0], [-1.0, 0.0]], dtype)
    D = jnp.kron(jnp.diag(rho * active), block)
    # u₀'s signs are independent of position: flipping its first k entries
    # is a uniformly random k-subset of its pattern (and compiles no sort)
    flip = jnp.arange(n) < jnp.round(corruption * n)
    cue = jnp.where(flip, -U[:, 0], U[:, 0])
    x0 = cycle_amplitude(rho) * np.sqrt(n) * cue
    return Experiment(
        FactoredRateMap(U, D),
        x0,
        t0=0.0,
        t1=float(t_end),
        dt=1.0,
        save_ts=save_grid(0.0, float(t_end), 1.0),
        observe=CapacityObservables(U, active, jnp.asarray(threshold, dtype)),
    )
