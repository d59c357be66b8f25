"""Rule combinators: sums, time-dependent gains, connectivity masks and
weight bounds."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._errors import as_param, is_concrete
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


class StepGain(eqx.Module):
    r"""A rule that changes the weights inside a model's step, its change scaled
    by a time-dependent gain: $W \leftarrow W + g(t)\,(W_{\text{rule}} - W)$.

    The counterpart of `Gain` for rules with `update(t, W, state, ...) ->
    (W, state)` (e.g. the spiking `Infomax`), where `Gain` takes rules with a
    drift. A gain of 0 leaves W bitwise unchanged; the rule's own state
    (traces) evolves as without the gain. Every other attribute (`init`,
    `trace`, parameters) is the wrapped rule's, so a model uses the wrapper
    where it used the rule.

    **Arguments:**

    - `rule`: the wrapped rule (anything with an `update` method that is not a
      drift rule).
    - `gain`: a schedule (`PiecewiseConstant`, `StageSchedule`, ...) or a number.
    """

    rule: eqx.Module
    gain: AbstractSchedule

    def __init__(self, rule, gain):
        if isinstance(rule, AbstractRule):
            raise TypeError(
                f"StepGain: {type(rule).__name__} is a drift rule; scale it with Gain."
            )
        if not callable(getattr(rule, "update", None)):
            raise TypeError(
                f"StepGain: `rule` must have an update(t, W, state, ...) method, got "
                f"{type(rule).__name__}."
            )
        self.rule = rule
        self.gain = as_schedule(gain)

    def update(self, t, W, state, *args, **kwargs):
        W1, s1 = self.rule.update(t, W, state, *args, **kwargs)
        g = jnp.asarray(self.gain(t), W.dtype)
        return W + g * (W1 - W), s1

    def __getattr__(self, name):
        if name.startswith("__") or name in ("rule", "gain"):
            raise AttributeError(name)
        return getattr(self.rule, name)


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


class Bounded(AbstractRule):
    r"""A rule whose weights stay in $[w_{lo}, w_{hi}]$: the drift is
    projected onto the box, so a weight at a bound receives no change that
    would move it further out:

    $$\Delta_{ij} = \begin{cases} 0 & W_{ij} \ge w_{hi},\ \Delta^{\text{rule}}_{ij} > 0
      \ \text{or}\ W_{ij} \le w_{lo},\ \Delta^{\text{rule}}_{ij} < 0 \\
      \Delta^{\text{rule}}_{ij} & \text{otherwise.} \end{cases}$$

    (Hard bounds as a continuous-time dynamics; a fixed step can pass a bound
    by at most one step's change before the projection holds it.)

    **Arguments:**

    - `rule`: the wrapped rule.
    - `lo`, `hi`: the bounds (weight units), scalars or arrays of W's shape,
      `lo <= hi`. Default 0 and +inf.
    """

    rule: AbstractRule
    lo: Weights = eqx.field(converter=lambda v: as_param(v, "lo"), default=0.0)
    hi: Weights = eqx.field(converter=lambda v: as_param(v, "hi"), default=jnp.inf)

    def __check_init__(self):
        if not isinstance(self.rule, AbstractRule):
            raise TypeError(
                f"Bounded: `rule` is {type(self.rule).__name__}, not a plasticity rule."
            )
        if not (is_concrete(self.lo) and is_concrete(self.hi)):
            return
        if bool(jnp.any(jnp.isnan(self.lo))) or bool(jnp.any(jnp.isnan(self.hi))):
            raise ValueError("Bounded: `lo` and `hi` must not be NaN.")
        if bool(jnp.any(self.lo > self.hi)):
            raise ValueError("Bounded: needs lo <= hi.")

    def init(self, n: int, dtype):
        return self.rule.init(n, dtype)

    def drift(self, t, act: Activity, W: Weights, state):
        d, ds = self.rule.drift(t, act, W, state)
        out = ((W >= self.hi) & (d > 0)) | ((W <= self.lo) & (d < 0))
        return jnp.where(out, 0.0, d), ds
