"""Rule combinators: sums, time-dependent gains and connectivity masks."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._errors import as_param
from .._schedule import AbstractSchedule, as_schedule
from .._state import Activity
from .._types import Weights
from ._base import AbstractRule


class SumRule(AbstractRule):
    r"""Sum of rules: $\Delta = \sum_r \Delta_r$. State: a tuple of the rules' states.

    **Arguments:**

    - `rules`: a sequence of rules.
    """

    rules: tuple[AbstractRule, ...]

    def __init__(self, *rules: AbstractRule):
        if len(rules) == 1 and isinstance(rules[0], list | tuple):
            rules = tuple(rules[0])
        for i, r in enumerate(rules):
            if not isinstance(r, AbstractRule):
                raise TypeError(
                    f"SumRule: entry {i} is {type(r).__name__}, not a plasticity rule."
                )
        if not rules:
            raise ValueError("SumRule needs at least one rule.")
        self.rules = tuple(rules)

    def init(self, n: int, dtype):
        return tuple(r.init(n, dtype) for r in self.rules)

    def drift(self, t, act: Activity, W: Weights, state):
        total = jnp.zeros_like(W)
        dstates = []
        for r, s in zip(self.rules, state, strict=True):
            d, ds = r.drift(t, act, W, s)
            total = total + d
            dstates.append(ds)
        return total, tuple(dstates)


class Gain(AbstractRule):
    r"""A rule scaled by a time-dependent gain: $\Delta = g(t)\,\Delta_{\text{rule}}$.

    Use it to switch a rule on or off by protocol phase or sleep stage (e.g. STDP
    on only after memory insertion, SHY downscaling only in NREM). The rule's own
    traces keep evolving while the gain is zero.

    **Arguments:**

    - `rule`: the wrapped rule.
    - `gain`: a schedule (`PiecewiseConstant`, `Constant`, ...) or a number.
    """

    rule: AbstractRule
    gain: AbstractSchedule

    def __init__(self, rule: AbstractRule, gain):
        if not isinstance(rule, AbstractRule):
            raise TypeError(f"Gain: `rule` must be a plasticity rule, got {rule!r}.")
        self.rule = rule
        self.gain = as_schedule(gain)

    def init(self, n: int, dtype):
        return self.rule.init(n, dtype)

    def drift(self, t, act: Activity, W: Weights, state):
        d, ds = self.rule.drift(t, act, W, state)
        return self.gain(t) * d, ds


class Masked(AbstractRule):
    r"""A rule restricted to existing synapses: $\Delta = M \circ \Delta_{\text{rule}}$.

    **Arguments:**

    - `rule`: the wrapped rule.
    - `mask`: connectivity mask, shape `(n_post, n_pre)`, 1 where a synapse exists
      (e.g. `1 - eye(n)` removes autapses).
    """

    rule: AbstractRule
    mask: Weights = eqx.field(converter=lambda v: as_param(v, "mask"))

    def init(self, n: int, dtype):
        return self.rule.init(n, dtype)

    def drift(self, t, act: Activity, W: Weights, state):
        d, ds = self.rule.drift(t, act, W, state)
        return self.mask * d, ds
