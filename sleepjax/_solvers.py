"""Solvers: an event wrapper and multirate Euler–Maruyama."""

from __future__ import annotations

from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu

from ._brownian import FoldInBrownianPath
from ._model import NoiseParts
from ._state import NetworkState
from ._terms import NoiseTerm


class EventSolver(diffrax.AbstractWrappedSolver):
    """Wraps a fixed-step solver and applies events (jumps) at their times.

    An event with time `t_e` fires at the end of the step whose end is nearest to
    `t_e` (`simulate` checks that `t_e` lies on the step grid). Used by
    `simulate(..., events=...)`; you rarely need it directly.
    """

    solver: diffrax.AbstractSolver
    events: tuple

    @property
    def term_structure(self):
        return self.solver.term_structure

    @property
    def interpolation_cls(self):  # pyright: ignore
        return self.solver.interpolation_cls

    @property
    def term_compatible_contr_kwargs(self):
        return self.solver.term_compatible_contr_kwargs

    def order(self, terms):
        return self.solver.order(terms)

    def strong_order(self, terms):
        return self.solver.strong_order(terms)

    def init(self, terms, t0, t1, y0, args):
        return self.solver.init(terms, t0, t1, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        y1, err, dense, state, result = self.solver.step(
            terms, t0, t1, y0, args, solver_state, made_jump
        )
        half = 0.5 * (t1 - t0)
        for ev in self.events:
            fire = (t0 + half < ev.time) & (ev.time <= t1 + half)
            y1 = jax.lax.cond(fire, lambda y, ev=ev: ev.apply(y), lambda y: y, y1)
        return y1, err, dense, state, result

    def func(self, terms, t0, y0, args):
        return self.solver.func(terms, t0, y0, args)


try:  # diffeqsolve wraps every term in WrapTerm (integration direction)
    from diffrax._term import WrapTerm as _WrapTerm
except ImportError:  # pragma: no cover - other diffrax versions
    _WrapTerm = ()


def _unwrap(term):
    while _WrapTerm and isinstance(term, _WrapTerm):
        term = term.term
    return term


def _split_terms(terms):
    terms = _unwrap(terms)
    if isinstance(terms, diffrax.MultiTerm):
        drift, noise = terms.terms
        return _unwrap(drift), _unwrap(noise)
    return terms, None


class MultirateEuler(diffrax.AbstractItoSolver):
    r"""Multirate Euler–Maruyama: neurons at the fine step, weights every k steps.

    Weights change ~1/η times more slowly than neurons, and their N² Wiener
    increments dominate the cost. One step of this solver spans `k` fine steps
    $h$ (so call it with `dt0 = k h`, which `simulate(..., dt=h)` does):

    1. the neurons and stimuli take `k` Euler–Maruyama steps of size $h$ with W
       and the rule traces frozen at the block start;
    2. the weight drive and the rule-state derivatives are **averaged over the
       k sub-steps** (a rectangle-rule quadrature of $\int \Delta\,dt$ over the
       block), and W and the traces take one step of size $k h$;
    3. the weight noise takes one Wiener increment of variance $k h$.

    Averaging (rather than sampling the drive once per block) keeps the Hebbian
    terms first-order accurate when the activity oscillates on the block's time
    scale (limit cycles have periods of 5–10 time units); it costs one O(N²)
    outer product per sub-step, the same order as the network's matrix-vector
    product, while the O(N²) random numbers are drawn once per block.

    Requires the default `FoldInBrownianPath`. Its error against single-rate
    Euler is measured in `benchmarks/multirate_error.py`.

    **Arguments:**

    - `substeps`: k, the number of fine neuron steps per weight step.
    """

    substeps: int = eqx.field(static=True)
    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def __check_init__(self):
        if not isinstance(self.substeps, int) or self.substeps < 1:
            raise ValueError(
                f"MultirateEuler: `substeps` must be a positive int, got "
                f"{self.substeps!r}."
            )

    def order(self, terms):
        return 1

    def strong_order(self, terms):
        return 0.5

    def init(self, terms, t0, t1, y0, args):
        return None

    def step(self, terms, t0, t1, y0: NetworkState, args, solver_state, made_jump):
        del solver_state, made_jump
        model = args
        _, noise = _split_terms(terms)
        k = self.substeps
        h = (t1 - t0) / k
        fast_shape = slow_shape = None
        if noise is not None:
            if not isinstance(noise, NoiseTerm) or not isinstance(
                noise.path, FoldInBrownianPath
            ):
                raise ValueError(
                    "MultirateEuler needs simulate()'s default Brownian path "
                    "(FoldInBrownianPath)."
                )
            shape: NoiseParts = noise.path.shape
            fast_shape = NoiseParts(
                W=None, neurons=shape.neurons, stimulus=shape.stimulus
            )
            slow_shape = NoiseParts(W=shape.W, neurons=None, stimulus=None)
        has_fast = fast_shape is not None and len(jtu.tree_leaves(fast_shape)) > 0
        W0, rules0 = y0.W, y0.rules

        def body(carry, m):
            neurons, stim, accW, accR = carry
            t = t0 + m * h
            y = NetworkState(neurons=neurons, W=W0, rules=rules0, stimulus=stim)
            d = model.drift(t, y)
            neurons1 = jtu.tree_map(lambda a, b: a + h * b, neurons, d.neurons)
            stim1 = jtu.tree_map(lambda a, b: a + h * b, stim, d.stimulus)
            if has_fast:
                dB = noise.path.evaluate_shape(t, t + h, fast_shape)
                sc = model.diffusion(t, y, noise.dt)
                if dB.neurons is not None:
                    neurons1 = neurons1 + sc.neurons * dB.neurons
                if dB.stimulus is not None:
                    stim1 = tuple(
                        s if db is None else s + c * db
                        for s, c, db in zip(
                            stim1, sc.stimulus, dB.stimulus, strict=True
                        )
                    )
            accW = accW + d.W
            accR = jtu.tree_map(jnp.add, accR, d.rules)
            return (neurons1, stim1, accW, accR), None

        init = (
            y0.neurons,
            y0.stimulus,
            jnp.zeros_like(W0),
            jtu.tree_map(jnp.zeros_like, rules0),
        )
        (neurons1, stim1, accW, accR), _ = jax.lax.scan(
            body, init, jnp.arange(k, dtype=jnp.result_type(t0, float))
        )
        H = t1 - t0
        W1 = W0 + (H / k) * accW
        rules1 = jtu.tree_map(lambda r, a: r + (H / k) * a, rules0, accR)
        if noise is not None and slow_shape.W is not None:
            dBW = noise.path.evaluate_shape(t0, t1, slow_shape).W
            sc = model.diffusion(t0, y0, noise.dt)
            W1 = W1 + sc.W * dBW
        y1 = NetworkState(neurons=neurons1, W=W1, rules=rules1, stimulus=stim1)
        dense_info = dict(y0=y0, y1=y1)
        return y1, None, dense_info, None, diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
