"""The synaptic homeostasis hypothesis (Tononi & Cirelli) as a rule and as
an event: potentiation in wake, proportional downscaling in NREM."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import as_param, check_positive
from .._schedule import AbstractSchedule, as_schedule
from .._types import Weights
from ..plasticity import AbstractRule
from ..stimuli import AbstractEvent


def spared_mask(W: Weights, spare, exact: bool = True) -> Float[Array, "n m"]:
    r"""1 on the largest fraction `spare` of the synapses by magnitude |W|
    (the $k = \lfloor \text{spare}\cdot N_{syn} \rfloor$ largest; ties at
    the threshold included), 0 elsewhere. `spare` may be a tracer.

    `exact=True` sorts |W|. `exact=False` bisects the threshold θ (40 halvings
    of [0, max|W|]) so that the count of |W| ≥ θ is the largest ≤ k that the
    bisection resolves: about 20x cheaper than a sort under vmap on CPU, and
    equal to it whenever no two |W| lie within max|W|·2⁻⁴⁰ of the cut."""
    a = jnp.abs(W).reshape(-1)
    k = jnp.floor(spare * a.shape[0] + 1e-6).astype(jnp.int32)
    if exact:
        desc = -jnp.sort(-a)
        thr = desc[jnp.clip(k - 1, 0, a.shape[0] - 1)]
    else:

        def halve(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            many = jnp.sum(a >= mid) > k
            return jnp.where(many, mid, lo), jnp.where(many, hi, mid)

        top = jnp.max(a)
        _, thr = jax.lax.fori_loop(0, 40, halve, (jnp.zeros_like(top), top * 1.0001))
    return ((jnp.abs(W) >= thr) & (k > 0)).astype(W.dtype)


def downscale(W: Weights, delta, spare=0.0) -> Weights:
    r"""SHY downscaling: $W \leftarrow (1 - \delta)\,W$ outside the spared set
    (the largest fraction `spare` of |W|), unchanged inside it."""
    if spare is None:
        return (1.0 - delta) * W
    keep = spared_mask(W, spare)
    return W * (keep + (1.0 - keep) * (1.0 - delta))


def shy_rate(delta: float, t_sleep: float, eta: float = 1.0) -> float:
    r"""The downscaling rate κ of `SHY` that multiplies the unspared weights by
    $1 - \delta$ over `t_sleep` of gated sleep: $e^{-\eta\kappa T} = 1 - \delta$,
    $\kappa = -\ln(1 - \delta) / (\eta T)$."""
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"shy_rate: `delta` must be in [0, 1), got {delta}.")
    if not t_sleep > 0 or not eta > 0:
        raise ValueError("shy_rate: `t_sleep` and `eta` must be > 0.")
    return -math.log1p(-delta) / (eta * t_sleep)


class SHY(AbstractRule):
    r"""Synaptic homeostasis as a continuous rule (dW/dt = η Δ):

    $$\Delta = h(t)\,\varphi\varphi^\top - \kappa(t)\,(1 - S(W)) \circ W,$$

    Hebbian potentiation $\eta\,r_{post} r_{pre}^\top$ where the wake gain
    $h(t)$ is on, proportional downscaling at rate ηκ(t) where the sleep
    schedule κ(t) is on (e.g. `StageSchedule(night, {"N2": k, "N3": k})`),
    sparing the set S(W) of the largest fraction `spare` of |W|
    (`spared_mask`). Over a gated time T at constant κ the unspared weights
    shrink by $e^{-\eta\kappa T}$ (`shy_rate` gives κ for a target δ).

    **Arguments:**

    - `wake`: schedule (or number) h(t) of Hebbian potentiation (1).
    - `sleep`: schedule (or number) κ(t) of downscaling (per η·time unit).
    - `spare`: fraction of synapses spared, in [0, 1). Default 0.
    """

    wake: AbstractSchedule
    sleep: AbstractSchedule
    spare: Float[Array, ""]

    def __init__(self, wake, sleep, spare=0.0):
        self.wake = as_schedule(wake)
        self.sleep = as_schedule(sleep)
        self.spare = as_param(spare, "spare")

    def __check_init__(self):
        check_positive("SHY.spare", self.spare, allow_zero=True)

    def drift(self, t, act, W, state):
        phi = act.phi
        keep = spared_mask(W, self.spare, exact=False)
        return self.wake(t) * jnp.outer(phi, phi) - self.sleep(t) * (1 - keep) * W, None


class Downscale(eqx.Module):
    r"""The jump $W \leftarrow (1 - \delta)W$ outside the spared set, on any
    state with a field `W` (for `OnStageEntry` in discrete maps).

    **Arguments:** `delta` ∈ [0, 1) (≈ 0.18 per night), `spare` ∈ [0, 1)."""

    delta: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "delta"))
    spare: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "spare"), default=0.0
    )

    def __check_init__(self):
        check_positive("Downscale.delta", self.delta, allow_zero=True)
        check_positive("Downscale.spare", self.spare, allow_zero=True)

    def __call__(self, state):
        return eqx.tree_at(
            lambda s: s.W, state, downscale(state.W, self.delta, self.spare)
        )


class DownscaleEvent(AbstractEvent):
    """`Downscale` at a fixed time, for continuous models (see
    `boundary_events`): `DownscaleEvent(time, delta, spare)`."""

    delta: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "delta"))
    spare: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "spare"), default=0.0
    )

    def apply(self, state):
        return Downscale(self.delta, self.spare)(state)
