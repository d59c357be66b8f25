"""The Hopfield networks from general parts, and their protocols.

Every protocol stores M random memories, cues memory 0 with a fraction of its
entries flipped and runs the network from the cue, saving
`HopfieldObservables`. They differ in what they are for (and in their
reports): `retrieval` (one cue), `capacity` (retrieval against the load
M/N, swept through `model.n_patterns`), `basins` (against the corruption,
swept through `protocol.corruption`, vmapped) and `energy` (the two-layer
models' energy along trajectories).

Memories: ξ^μ_i = ±1 with equal probability, drawn from the protocol's key.
The binary networks store them as they are; the two-layer models store the
unit-norm ξ^μ/√N (so overlaps ξ^μ·v lie in [−1, 1] and β is in units of one
over an overlap). The same key gives the same signs to every network.
"""

from __future__ import annotations

from typing import Annotated

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import Interval, OnGrid
from ..._experiment import Experiment, save_grid
from ..._noise import NeuronNoise
from ...dynamics import (
    BinaryHopfield,
    LogSumExpLagrangian,
    PolynomialLagrangian,
    QuadraticLagrangian,
    TwoLayerHopfield,
)
from ._observables import HopfieldObservables
from ._options import HopfieldOptions, HopfieldParams

Time = Annotated[float, OnGrid()]
Fraction = Annotated[float, Interval(0.0, 1.0)]
Threshold = Annotated[float, Interval(0.0, 1.0, open=True)]


# ------------------------------------------------------------------- parts
def patterns(key: PRNGKeyArray, opts: HopfieldOptions) -> Float[Array, "M N"]:
    """M memories of N entries ±1 (binary) or ±1/√N (two-layer models)."""
    xi = jr.rademacher(key, (opts.n_patterns, opts.n), dtype=jnp.result_type(float))
    return xi if opts.binary else xi / np.sqrt(opts.n)


def corrupt(key: PRNGKeyArray, pattern: Float[Array, " N"], fraction) -> Array:
    """`pattern` with exactly round(fraction·N) entries, chosen at random,
    flipped in sign (`fraction` may be traced: it only enters arithmetic)."""
    n = pattern.shape[0]
    flip = jr.permutation(key, n) < jnp.round(fraction * n)
    return jnp.where(flip, -pattern, pattern)


def network(opts: HopfieldOptions, p: HopfieldParams, xi: Float[Array, "M N"]):
    """The network the options select; it reads only the parameters it uses
    (β only for model B, σ only with neuron noise, none for binary)."""
    if opts.binary:
        update = "asynchronous" if opts.network == "binary_async" else "synchronous"
        return BinaryHopfield.from_patterns(xi, update)
    if opts.network == "model_b":
        lag_h = LogSumExpLagrangian(p.beta)
    else:
        lag_h = PolynomialLagrangian(opts.power, opts.rectified)
    noise = NeuronNoise(p.noise) if opts.neuron_noise else None
    return TwoLayerHopfield(
        xi, p.tau_f, p.tau_h, QuadraticLagrangian(), lag_h, noise=noise
    )


def cued_experiment(
    opts: HopfieldOptions,
    p: HopfieldParams,
    key: PRNGKeyArray,
    *,
    corruption,
    t_end: float,
    save_every: float,
    threshold,
) -> Experiment:
    """Store M memories, start from memory 0 with `corruption` of its entries
    flipped (two-layer models: h at its equilibrium ξ·g(v)), run to `t_end`
    (sweeps for the binary networks, τ units otherwise), saving every
    `save_every`."""
    if not save_every <= t_end:
        raise ValueError(f"save_every ({save_every}) must be <= t_end ({t_end}).")
    k_xi, k_cue = jr.split(key)
    xi = patterns(k_xi, opts)
    cue = corrupt(k_cue, xi[0], corruption)
    net = network(opts, p, xi)
    state0 = cue if opts.binary else net.init(cue)
    return Experiment(
        net,
        state0,
        t0=0.0,
        t1=t_end,
        dt=1.0 if opts.binary else opts.dt,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=HopfieldObservables(xi, threshold),
    )


# --------------------------------------------------------------- protocols
def retrieval(
    opts: HopfieldOptions,
    p: HopfieldParams,
    key: PRNGKeyArray,
    *,
    corruption: Fraction = 0.2,
    t_end: Time = 20.0,
    save_every: Time = 1.0,
    threshold: Threshold = 0.95,
) -> Experiment:
    """Retrieval: cue memory 0 with a fraction `corruption` of its entries
    flipped and run to `t_end` (sweeps for the binary networks); a network has
    retrieved the memory when its overlap is within 1 − `threshold` of 1."""
    return cued_experiment(
        opts,
        p,
        key,
        corruption=corruption,
        t_end=t_end,
        save_every=save_every,
        threshold=threshold,
    )


def capacity(
    opts: HopfieldOptions,
    p: HopfieldParams,
    key: PRNGKeyArray,
    *,
    corruption: Fraction = 0.0,
    t_end: Time = 20.0,
    save_every: Time = 1.0,
    threshold: Threshold = 0.95,
) -> Experiment:
    """Capacity: start at a stored memory (`corruption` 0 by default) and run to
    `t_end`; sweep `model.n_patterns` (with seeds) for the fraction of networks
    still at the memory (overlap ≥ `threshold`) against the load α = M/N."""
    return cued_experiment(
        opts,
        p,
        key,
        corruption=corruption,
        t_end=t_end,
        save_every=save_every,
        threshold=threshold,
    )


def basins(
    opts: HopfieldOptions,
    p: HopfieldParams,
    key: PRNGKeyArray,
    *,
    corruption: Fraction = 0.3,
    t_end: Time = 20.0,
    save_every: Time = 1.0,
    threshold: Threshold = 0.95,
) -> Experiment:
    """Basins of attraction: final overlap against the initial corruption;
    sweep `protocol.corruption` (vmapped: one compiled call for all values)."""
    return cued_experiment(
        opts,
        p,
        key,
        corruption=corruption,
        t_end=t_end,
        save_every=save_every,
        threshold=threshold,
    )


def energy(
    opts: HopfieldOptions,
    p: HopfieldParams,
    key: PRNGKeyArray,
    *,
    corruption: Fraction = 0.2,
    t_end: Time = 10.0,
    save_every: Time = 0.1,
    threshold: Threshold = 0.95,
) -> Experiment:
    """Energy of the two-layer models (model A, model B) along trajectories from
    a corrupted cue of memory 0: E(v, h) must not increase (Krotov & Hopfield
    2020). Sweep `model.network` = ["model_a", "model_b"] to compare them."""
    if opts.binary:
        raise ValueError(
            "the energy protocol runs the two-layer networks: set [model] network "
            "to 'model_a' or 'model_b' (the binary network's energy is saved by "
            "the retrieval protocol)."
        )
    return cued_experiment(
        opts,
        p,
        key,
        corruption=corruption,
        t_end=t_end,
        save_every=save_every,
        threshold=threshold,
    )
