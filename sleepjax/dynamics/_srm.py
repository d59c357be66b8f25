r"""Stochastic spike-response neurons in discrete time (Yoshida & Toyoizumi 2023).

Time steps of $\Delta t$ (ms; 1 ms in the paper). Each neuron $i$ of a
population has a membrane potential (mV)

$$u_i = u_r + v_i + e_i,\qquad
  v_i \leftarrow v_i\,e^{-\Delta t/\tau_m} + \sum_{\text{proj}} \Delta v_i
  - a_i\,\Delta t ,$$

where the projections (`DenseProjection`, `BlockProjection`, `BitProjection`)
add the EPSP jumps of the presynaptic spikes (recurrent spikes of the previous
step, input spikes of this step) — the membrane form of
$u = u_r + \sum_j w_j h_j$ with EPSP traces $h_j \leftarrow h_j
e^{-\Delta t/\tau_m} + x_j$, identical for fixed weights — and $e_i$ is any
extra potential the caller adds (plastic synapses in trace form, $\sum_j
w_{ij} h_j$). The adaptation current (mV/ms) of E cells is integrated by the
membrane: $a_i \leftarrow a_i e^{-\Delta t/\tau_a} + \beta y_i$.

Spiking: the soft-plus gain $g(u) = r\,\ln(1 + e^{(u-\theta)/\delta})$
(1/ms), the refractory factor $R(s) = s^4/(\tau_{ref}^4 + s^4)$ of the time
$s$ since the neuron's last spike, and

$$\rho_i = g(u_i)\,R(s_i)\,\Delta t,\qquad y_i = [U_i < \rho_i]
  \;\lor\; \text{forced}_i ,$$

with $U_i$ uniform on [0, 1). **Random streams:** in the step with key $k$,
population number $p$ (in the order of `populations`) draws
$U = $ `uniform(fold_in(k, p), (n,))`, and input number $m$ (inputs in sorted name
order; a Poisson input) draws its spikes $[U' < \nu\Delta t]$ from
`uniform(fold_in(k, P + m), (n,))` ($P$ populations). `iterate` gives step
$j$ the key `fold_in(key, j)`.
"""

from __future__ import annotations

from collections.abc import Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._brownian import _threefry2x32, _use_fast_threefry
from .._errors import as_param, check_positive
from .._system import AbstractMap, check_like

Vec = Float[Array, " n"]


class SoftplusGain(eqx.Module):
    r"""$g(u) = r \ln\!\left(1 + e^{(u-\theta)/\delta}\right)$ in 1/ms.

    Paper: E cells $r$ = 0.0015/ms, θ = −69.4 mV, δ = 0.5 mV; I cells $r$ =
    0.006/ms, θ = −62.5 mV, δ = 0.5 mV.
    """

    rate: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "rate"))
    theta: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "theta"))
    width: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "width"), default=0.5
    )

    def __call__(self, u: Vec) -> Vec:
        return self.rate * jax.nn.softplus((u - self.theta) / self.width)

    def log_derivative(self, u: Vec) -> Vec:
        r"""$g'(u)/g(u) = \sigma(z) / (\delta\,\mathrm{softplus}(z))$, 1/mV,
        $z = (u-\theta)/\delta$."""
        z = (u - self.theta) / self.width
        return jax.nn.sigmoid(z) / (self.width * jax.nn.softplus(z))


def uniform(key: PRNGKeyArray, n: int, dtype) -> Vec:
    """`jax.random.uniform(key, (n,), dtype)`, bit for bit. For float32 and
    JAX's default (partitionable) threefry keys the hash is written out in
    jax.numpy so that it fuses with the comparison that follows (about 3x
    faster on a CPU than JAX's rolled lowering; `sleepjax._brownian` does the
    same for normals)."""
    if jnp.dtype(dtype) != jnp.float32 or not _use_fast_threefry(key):
        return jr.uniform(key, (n,), dtype)
    kd = jr.key_data(key)
    counts = jax.lax.iota(jnp.uint32, n)
    b1, b2 = _threefry2x32(kd[0], kd[1], jnp.zeros_like(counts), counts)
    mant = ((b1 ^ b2) >> np.uint32(9)) | np.uint32(0x3F800000)
    return jax.lax.bitcast_convert_type(mant, jnp.float32) - np.float32(1.0)


def refractory(age: Vec, tau_ref, power: int = 4) -> Vec:
    r"""$R(s) = s^p / (\tau_{ref}^p + s^p)$ of the time $s$ (ms) since the last
    spike (0 right after a spike, → 1 long after)."""
    sp = age**power
    return sp / (tau_ref**power + sp)


class SRMPopulation(eqx.Module):
    r"""A population of spike-response neurons (module docs).

    **Fields:** `n` (static); `tau_m` membrane time constant (ms); `u_rest`
    (mV); `gain` (`SoftplusGain`); `tau_ref` (ms, refractory scale); `tau_a`
    (ms) and `beta` (mV/ms per spike): the adaptation current, used only when
    `adaptation` (static) is true.
    """

    n: int = eqx.field(static=True)
    tau_m: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "tau_m"))
    gain: SoftplusGain
    u_rest: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "u_rest"), default=-70.0
    )
    tau_ref: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "tau_ref"), default=30.0
    )
    tau_a: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "tau_a"), default=1500.0
    )
    beta: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "beta"), default=0.0
    )
    adaptation: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"SRMPopulation: `n` must be a positive int, got {self.n}")
        check_positive("SRMPopulation.tau_m", self.tau_m)
        check_positive("SRMPopulation.tau_ref", self.tau_ref)
        check_positive("SRMPopulation.tau_a", self.tau_a)


class PoissonInput(eqx.Module):
    r"""`n` independent Poisson inputs at `rate` (1/ms; a scalar or `(n,)`):
    each fires in a step with probability $\nu\Delta t$."""

    n: int = eqx.field(static=True)
    rate: Float[Array, "..."] = eqx.field(converter=lambda v: as_param(v, "rate"))


class ExternalInput(eqx.Module):
    """`n` inputs whose spikes the caller gives at every step (stimulation
    protocols, reactivations)."""

    n: int = eqx.field(static=True)


class SRMState(eqx.Module):
    """State of one population: `v` (mV above rest, from the projections and
    the adaptation), `a` (adaptation current, mV/ms), `age` (ms since the
    last spike as of the previous step), `y` (0/1 spikes of the previous
    step), each `(n,)`."""

    v: Vec
    a: Vec
    age: Vec
    y: Vec


class StepInfo(eqx.Module):
    """What one step computed for a population: `u` (mV), `g` (1/ms), `R`,
    `rho` (spike probability), each `(n,)`; the spikes are the new state's
    `y`."""

    u: Vec
    g: Vec
    R: Vec
    rho: Vec


class SpikeResponseNetwork(AbstractMap):
    r"""Several spike-response populations, input populations and fixed
    projections, as one discrete-time map (module docs).

    **Fields:**

    - `populations`: `{name: SRMPopulation}` (recurrent; their spikes reach
      their targets one step later).
    - `inputs`: `{name: PoissonInput | ExternalInput}` (their spikes reach
      their targets in the same step).
    - `projections`: a tuple of projections whose `pre` names a population or
      an input and whose `post` names a population.
    - `dt`: step (ms, static; 1 in the paper).

    The state is `{name: SRMState}`.
    """

    populations: Mapping[str, SRMPopulation]
    inputs: Mapping[str, PoissonInput | ExternalInput]
    projections: tuple
    dt: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        sizes = {k: p.n for k, p in self.populations.items()}
        sizes.update({k: p.n for k, p in self.inputs.items()})
        if set(self.populations) & set(self.inputs):
            raise ValueError(
                "SpikeResponseNetwork: a name is both a population and an input."
            )
        for pr in self.projections:
            if pr.pre not in sizes or pr.post not in self.populations:
                raise ValueError(
                    f"SpikeResponseNetwork: projection {pr.pre!r} -> {pr.post!r} "
                    f"names an unknown population (known: {sorted(sizes)})."
                )
            if pr.shape != (sizes[pr.post], sizes[pr.pre]):
                raise ValueError(
                    f"SpikeResponseNetwork: projection {pr.pre!r} -> {pr.post!r} has "
                    f"shape {pr.shape}, expected {(sizes[pr.post], sizes[pr.pre])}."
                )

    def init(self, v0: Mapping | None = None, age0: float = 1e4, dtype=None):
        """Every neuron at rest (or `v0[name]` mV above it), no adaptation,
        no spikes, its last spike `age0` ms before the first step (so the
        first step sees $s$ = `age0`)."""
        dtype = dtype or jnp.result_type(float)
        out = {}
        for name, p in self.populations.items():
            z = jnp.zeros((p.n,), dtype)
            v = z + (0.0 if v0 is None else v0.get(name, 0.0))
            out[name] = SRMState(v=v, a=z, age=z + (age0 - self.dt), y=z)
        return out

    def draw_inputs(self, key: PRNGKeyArray, dtype) -> dict[str, Vec]:
        """This step's spikes of the Poisson inputs (module docs)."""
        base = len(self.populations)
        out = {}
        for m, name in enumerate(sorted(self.inputs)):
            inp = self.inputs[name]
            if isinstance(inp, PoissonInput):
                u = uniform(jr.fold_in(key, base + m), inp.n, dtype)
                out[name] = (u < inp.rate * self.dt).astype(dtype)
        return out

    def advance(
        self,
        t,
        state: Mapping[str, SRMState],
        key: PRNGKeyArray,
        external: Mapping[str, Vec] | None = None,
        forced: Mapping[str, Array] | None = None,
        extra: Mapping[str, Vec] | None = None,
    ) -> tuple[dict[str, SRMState], dict[str, StepInfo], dict[str, Vec]]:
        """One step with the caller's input spikes `external` (for the
        `ExternalInput`s, and extra spikes OR-ed into Poisson ones), forced
        spikes `forced[pop]` (bool) and extra potentials `extra[pop]` (mV).
        Returns the new state, each population's `StepInfo` and every input's
        spikes."""
        external = external or {}
        forced = forced or {}
        extra = extra or {}
        dtype = next(iter(state.values())).v.dtype
        spikes = self.draw_inputs(key, dtype)
        for name, x in external.items():
            x = jnp.asarray(x, dtype)
            spikes[name] = jnp.maximum(spikes[name], x) if name in spikes else x
        missing = [k for k, v in self.inputs.items() if k not in spikes]
        if missing:
            raise ValueError(f"SpikeResponseNetwork: no spikes given for {missing}.")
        pre = {k: s.y for k, s in state.items()} | spikes
        new, info = {}, {}
        for p_idx, name in enumerate(sorted(self.populations)):
            pop, s = self.populations[name], state[name]
            drive = sum(
                (pr(pre[pr.pre]) for pr in self.projections if pr.post == name),
                jnp.zeros_like(s.v),
            )
            v = s.v * jnp.exp(-self.dt / pop.tau_m) + drive - s.a * self.dt
            u = pop.u_rest + v + extra.get(name, 0.0)
            age = s.age + self.dt
            R = refractory(age, pop.tau_ref)
            g = pop.gain(u)
            rho = g * R * self.dt
            U = uniform(jr.fold_in(key, p_idx), pop.n, dtype)
            y = U < rho
            if name in forced:
                y = y | jnp.asarray(forced[name], bool)
            yf = y.astype(dtype)
            if pop.adaptation:
                a = s.a * jnp.exp(-self.dt / pop.tau_a) + pop.beta * yf
            else:
                a = s.a
            new[name] = SRMState(v=v, a=a, age=jnp.where(y, 0.0, age), y=yf)
            info[name] = StepInfo(u=u, g=g, R=R, rho=rho)
        return new, info, spikes

    def step(self, t, y, key: PRNGKeyArray):
        """One step without external spikes (every input must be Poisson)."""
        return self.advance(t, y, key)[0]

    def check_state(self, y) -> None:
        check_like("the state", self.init(), y)
