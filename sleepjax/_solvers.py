"""Solvers: an event wrapper and multirate Euler–Maruyama."""

from __future__ import annotations

from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu

from ._brownian import FoldInBrownianPath
from ._system import add_increment, increment, noise_leaves, split_noise
from ._terms import NoiseTerm


class EventSolver(diffrax.AbstractWrappedSolver):
    """Wraps a fixed-step solver and applies events (jumps) when they fire.

    An `AbstractEvent` with time `t_e` fires at the end of the step whose end
    is nearest to `t_e` (`simulate` checks that `t_e` lies on the step grid);
    an `AbstractConditionEvent` at the end of every step for which its traced
    condition holds. Used by `simulate(..., events=...)`; you rarely need it
    directly.
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
        for ev in self.events:
            y1 = jax.lax.cond(
                ev.fires(t0, t1), lambda y, ev=ev: ev.apply(y), lambda y: y, y1
            )
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
    r"""Multirate Euler–Maruyama: the N² weight noise drawn once every k steps.

    "Weights" below are the leaves that the system's `slow_mask` marks (the
    `W` of a `Model`); the rest (neurons, traces, stimuli) are "fast".

    The N² Wiener increments of the weight noise cost far more than the
    network's dynamics (random numbers dominate: ~20x the rest on CPU). One
    step of this solver spans `k` fine steps $h$ (call it with `dt0 = k h`,
    which `simulate(..., dt=h)` does). Three schemes (`slow=`):

    **`slow="noise"` (default).** Everything deterministic is single-rate
    Euler: neurons, weights, rule traces and stimuli all take `k` Euler steps
    of size $h$ (with neuron and stimulus noise at the fine step). Only the
    weight noise is coarse: one Wiener increment $\Delta B$ of variance $k h$
    is drawn per block and added in equal parts $\sigma_W \Delta B / k$ at
    each of the k sub-steps (the mean of the Brownian bridge over the block).
    With the weight noise off this *is* single-rate Euler; with it on, the
    noise added to W over a block has exactly the law of the k single-rate
    increments (variance $k h \sigma_W^2$), and the only error is that within
    a block the drift sees that noise spread evenly instead of as a random
    walk (a weak error O(kh), proportional to the small weight-noise
    variance).

    **`slow="weights"`.** W and its noise step once per block: the neurons,
    rule traces and stimuli take `k` Euler steps with W frozen at the block
    start; the weight drive is **averaged over the k sub-steps** (rectangle
    rule) and W takes one step of size $k h$. One pass over W per sub-step
    instead of two, but no faster in practice (random numbers dominate), and
    first-order inaccurate for activity-dependent rules: a Hebbian update
    $\eta\, a\phi^\top$ changes the network's input $W\phi$ at rate
    $\eta N\langle\phi^2\rangle$ (≈ 0.3 per time unit at N = 64), not $\eta$,
    and freezing W for $kh$ misses that feedback. Exact for
    activity-independent drives (e.g. dissipation alone).

    Why the averaged drive rather than one sample per block (`"weights"`):
    averaging keeps the Hebbian terms first-order accurate when the activity
    oscillates on the block's time scale (limit cycles have periods of 5–10
    time units), and costs no extra pass over W (XLA fuses the k outer
    products into one elementwise pass).

    **`slow="none"`.** Nothing is coarse: every fine step draws its own weight
    noise, so this is single-rate Euler–Maruyama (the same increments as
    `diffrax.Euler()` with the same path; equal up to rounding), taken `k`
    steps per solver step. Use it for gradients: with
    `adjoint=diffrax.RecursiveCheckpointAdjoint(checkpoints=steps // k)` every
    block start is stored and each block is recomputed once in the backward
    pass (memory ∝ steps/k + k, i.e. O(√steps) at k ≈ √steps), which costs
    ~1.5x less than the default adjoint's checkpoint schedule
    (`benchmarks/grad_memory.py`).

    All three require the default `FoldInBrownianPath`; its block increment is one
    draw of variance $k h$ (a different, equally valid realisation from the
    fine path). Errors and speed-ups against single-rate Euler are measured in
    `benchmarks/multirate_error.py` and documented in `docs/performance.md`.

    **Arguments:**

    - `substeps`: k, the number of fine steps per weight-noise draw.
    - `slow`: `"noise"` (default), `"weights"` or `"none"`, see above.
    """

    substeps: int = eqx.field(static=True)
    slow: str = eqx.field(static=True, default="noise")
    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def __check_init__(self):
        if not isinstance(self.substeps, int) or self.substeps < 1:
            raise ValueError(
                f"MultirateEuler: `substeps` must be a positive int, got "
                f"{self.substeps!r}."
            )
        if self.slow not in ("noise", "weights", "none"):
            raise ValueError(
                f"MultirateEuler: `slow` must be 'noise', 'weights' or 'none', got "
                f"{self.slow!r}."
            )

    def order(self, terms):
        return 1

    def strong_order(self, terms):
        return 0.5

    def init(self, terms, t0, t1, y0, args):
        return None

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        system = args
        _, noise = _split_terms(terms)
        k = self.substeps
        h = (t1 - t0) / k
        mask = system.slow_mask(y0)
        fast_shape = slow_shape = None
        if noise is not None:
            if not isinstance(noise, NoiseTerm) or not isinstance(
                noise.path, FoldInBrownianPath
            ):
                raise ValueError(
                    "MultirateEuler needs simulate()'s default Brownian path "
                    "(FoldInBrownianPath)."
                )
            fast_shape, slow_shape = split_noise(noise.path.shape, mask)
        has_fast = bool(noise_leaves(fast_shape))
        has_slow = bool(noise_leaves(slow_shape))
        ts = t0 + h * jnp.arange(k, dtype=jnp.result_type(t0, float))
        euler = lambda a, b: a + h * b  # noqa: E731

        def fast_noise(t, y, y1):
            """The fast leaves' noise of one fine step, added to `y1`."""
            if not has_fast:
                return y1
            dB = noise.path.evaluate_shape(t, t + h, fast_shape)
            return add_increment(y1, increment(system.diffusion(t, y, noise.dt), dB))

        if self.slow in ("noise", "none"):
            # "noise": one block draw of the slow noise, spread evenly over
            # the block; "none": a draw at every fine step (single-rate Euler).
            block = None
            if has_slow and self.slow == "noise":
                dB = noise.path.evaluate_shape(t0, t1, slow_shape)
                block = increment(system.diffusion(t0, y0, noise.dt), dB, factor=k)

            def slow_noise(t, y, y1):
                if not has_slow:
                    return y1
                if block is not None:
                    return add_increment(y1, block)
                dB = noise.path.evaluate_shape(t, t + h, slow_shape)
                return add_increment(
                    y1, increment(system.diffusion(t, y, noise.dt), dB)
                )

            def body(y, t):
                d = system.drift(t, y)
                y1 = jtu.tree_map(euler, y, d)
                return fast_noise(t, y, slow_noise(t, y, y1)), None

            y1, _ = jax.lax.scan(body, y0, ts)
            return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful

        # slow == "weights"
        slow0, fast0 = eqx.partition(y0, mask)

        # 1. The fast loop: every leaf but the slow ones (O(N)) at the fine
        #    step, with the slow leaves frozen. Their drive is not used here,
        #    so XLA removes it from the loop body.
        def body_w(fast, t):
            y = eqx.combine(fast, slow0)
            d = eqx.partition(system.drift(t, y), mask)[1]
            fast1 = fast_noise(t, y, jtu.tree_map(euler, fast, d))
            return fast1, fast

        fast1, fast_k = jax.lax.scan(body_w, fast0, ts)

        # 2. The slow drive averaged over the k sub-step states, slow leaves
        #    frozen: evaluated after the loop as one unrolled sum, which XLA
        #    fuses into a single elementwise pass over N x N (the k outer
        #    products are never written to memory). The O(N) parts of the
        #    drift computed alongside are unused and removed by XLA.
        def drive(m):
            at = jtu.tree_map(lambda a: a[m], fast_k)
            return eqx.partition(system.drift(ts[m], eqx.combine(at, slow0)), mask)[0]

        acc = drive(0)
        for m in range(1, k):
            acc = jtu.tree_map(jnp.add, acc, drive(m))
        slow1 = jtu.tree_map(lambda a, b: a + (t1 - t0) / k * b, slow0, acc)
        if has_slow:
            dB = noise.path.evaluate_shape(t0, t1, slow_shape)
            slow1 = add_increment(
                slow1, increment(system.diffusion(t0, y0, noise.dt), dB)
            )
        y1 = eqx.combine(fast1, slow1)
        return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
