"""The model's circuits from general parts: neurons, the four-population
network, the infomax rule and the rate lattice, built from `SlowWaveParams`
(rates in Hz converted to 1/ms)."""

from __future__ import annotations

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ...dynamics import (
    BitProjection,
    BlockProjection,
    DenseProjection,
    EIRateLattice,
    PoissonInput,
    SoftplusGain,
    SpikeResponseNetwork,
    SRMPopulation,
    block_mask,
)
from ...plasticity import Infomax
from ._options import SlowWaveOptions, SlowWaveParams

DT = 1.0  # ms: the model's time step


def gain_e(p: SlowWaveParams) -> SoftplusGain:
    """g_e(u) = 0.0015 ln(1 + e^{(u + 69.4)/0.5}) /ms (defaults)."""
    return SoftplusGain(p.gain_e / 1000.0, p.theta_e, p.width)


def gain_i(p: SlowWaveParams) -> SoftplusGain:
    """g_i(u) = 0.006 ln(1 + e^{(u + 62.5)/0.5}) /ms (defaults)."""
    return SoftplusGain(p.gain_i / 1000.0, p.theta_i, p.width)


def excitatory(p: SlowWaveParams, n: int, adaptation: bool) -> SRMPopulation:
    return SRMPopulation(
        n,
        p.tau_e,
        gain_e(p),
        u_rest=p.u_rest,
        tau_ref=p.tau_ref,
        tau_a=p.tau_a if adaptation else 1500.0,
        beta=p.beta if adaptation else 0.0,
        adaptation=adaptation,
    )


def infomax(p: SlowWaveParams, t_on) -> Infomax:
    """The rule on synapses onto an E cell (EPSP traces with τ_h = τ_e)."""
    return Infomax(gain_e(p), p.alpha, p.lam, p.tau_c, p.tau_e, t_on)


def single_neuron(
    opts: SlowWaveOptions, p: SlowWaveParams, background_hz
) -> SpikeResponseNetwork:
    """One E cell ("post", no adaptation) driven by `n_background` Poisson
    inputs at `background_hz` with weight `w_background` (the stimulated,
    plastic inputs are added by the map in trace form)."""
    n_bg = opts.n_background
    W = jnp.full((1, n_bg), 1.0) * p.w_background
    return SpikeResponseNetwork(
        {"post": excitatory(p, 1, adaptation=False)},
        {"background": PoissonInput(n_bg, background_hz / 1000.0)},
        (DenseProjection("background", "post", W),),
        dt=DT,
    )


def slow_wave_network(
    opts: SlowWaveOptions, p: SlowWaveParams, key: PRNGKeyArray
) -> SpikeResponseNetwork:
    """`n_pop` populations of `n_exc` E and `n_inh` I cells (SPEC §3). Within
    a population: E→E `w_ee` all-to-all (no self-connections), E→I `w_ie`,
    I→E `w_ei`, no I→I. Between populations: E→E with probability `p_ee`,
    E→I with `p_ie` (same weights), drawn from `key`."""
    P = opts.n_pop
    nE, nI = P * opts.n_exc, P * opts.n_inh
    eye = jnp.eye(P)
    k_ee, k_ie = jr.split(key)
    exc = excitatory(p, nE, adaptation=True)
    inh = SRMPopulation(
        nI, p.tau_i, gain_i(p), u_rest=p.u_rest, tau_ref=p.tau_ref, adaptation=False
    )
    proj = (
        BlockProjection("E", "E", p.w_ee * eye, nE, nE, no_self=True),
        BitProjection.random(
            k_ee, "E", "E", nE, nE, p.p_ee, p.w_ee, block_mask(nE, nE, P, False)
        ),
        BlockProjection("E", "I", p.w_ie * eye, nE, nI),
        BitProjection.random(
            k_ie, "E", "I", nI, nE, p.p_ie, p.w_ie, block_mask(nI, nE, P, False)
        ),
        BlockProjection("I", "E", p.w_ei * eye, nI, nE),
    )
    return SpikeResponseNetwork({"E": exc, "I": inh}, {}, proj, dt=DT)


def rate_lattice(opts: SlowWaveOptions, p: SlowWaveParams) -> EIRateLattice:
    """The E–I rate lattice of the `waves` protocol; the drive changes
    linearly by `wave_gradient` from the x = 0 end to the other."""
    shape = (opts.n_x,) if opts.n_y == 1 else (opts.n_x, opts.n_y)
    ramp = np.linspace(-0.5, 0.5, opts.n_x)
    if opts.n_y > 1:
        ramp = np.repeat(ramp[:, None], opts.n_y, axis=1)
    return EIRateLattice(
        shape,
        drive_e=p.wave_drive + p.wave_gradient * jnp.asarray(ramp),
        tau_a=p.wave_tau_a,
        b=p.wave_b,
        coupling=p.wave_coupling,
        sigma=p.wave_noise,
        noisy=True,
    )
