"""Trainable parameters: selection by path and constraints by reparametrisation."""

from __future__ import annotations

import abc
import difflib
import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._paths import path_getter, set_leaves


# ----------------------------------------------------------------- constraints
class AbstractConstraint(eqx.Module):
    """A bijection from unconstrained ℝ onto a parameter's allowed set.

    The optimiser works on the unconstrained value `u`; the model sees
    `forward(u)`. `inverse(value)` gives `u` for a starting value.
    """

    @abc.abstractmethod
    def forward(self, u):
        """Unconstrained → constrained."""

    @abc.abstractmethod
    def inverse(self, value):
        """Constrained → unconstrained (the value must be strictly allowed)."""

    @abc.abstractmethod
    def contains(self, value) -> bool:
        """Whether a concrete value lies strictly inside the allowed set."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Short text for messages and output."""


class Identity(AbstractConstraint):
    """No constraint: the optimiser sees the parameter itself."""

    def forward(self, u):
        return u

    def inverse(self, value):
        return value

    def contains(self, value) -> bool:
        return bool(np.all(np.isfinite(value)))

    def describe(self) -> str:
        return "none"


class Positive(AbstractConstraint):
    r"""Value > 0, by $\theta = e^u$ (`kind="exp"`, default: scale-free steps, a
    step in `u` is a relative change) or $\theta = \log(1 + e^u)$
    (`kind="softplus"`: additive steps far from 0)."""

    kind: str = eqx.field(static=True, default="exp")

    def __check_init__(self):
        if self.kind not in ("exp", "softplus"):
            raise ValueError(
                f"Positive: `kind` must be 'exp' or 'softplus', got {self.kind!r}."
            )

    def forward(self, u):
        return jnp.exp(u) if self.kind == "exp" else jax.nn.softplus(u)

    def inverse(self, value):
        value = jnp.asarray(value)
        if self.kind == "exp":
            return jnp.log(value)
        return value + jnp.log(-jnp.expm1(-value))  # softplus⁻¹, stable

    def contains(self, value) -> bool:
        return bool(np.all(np.asarray(value) > 0))

    def describe(self) -> str:
        return "positive" if self.kind == "exp" else "positive (softplus)"


class Negative(AbstractConstraint):
    r"""Value < 0, by $\theta = -e^u$ (e.g. a depression amplitude `a_D`)."""

    def forward(self, u):
        return -jnp.exp(u)

    def inverse(self, value):
        return jnp.log(-jnp.asarray(value))

    def contains(self, value) -> bool:
        return bool(np.all(np.asarray(value) < 0))

    def describe(self) -> str:
        return "negative"


class Interval(AbstractConstraint):
    r"""lo < value < hi, by $\theta = lo + (hi - lo)\,\sigma(u)$ (logistic sigmoid)."""

    lo: float = eqx.field(static=True)
    hi: float = eqx.field(static=True)

    def __check_init__(self):
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            raise ValueError(
                f"Interval: bounds must be finite, got ({self.lo}, {self.hi})."
            )
        if not self.lo < self.hi:
            raise ValueError(f"Interval: need lo < hi, got ({self.lo}, {self.hi}).")

    def forward(self, u):
        return self.lo + (self.hi - self.lo) * jax.nn.sigmoid(u)

    def inverse(self, value):
        p = (jnp.asarray(value) - self.lo) / (self.hi - self.lo)
        return jnp.log(p) - jnp.log1p(-p)

    def contains(self, value) -> bool:
        a = np.asarray(value)
        return bool(np.all((a > self.lo) & (a < self.hi)))

    def describe(self) -> str:
        return f"interval ({self.lo:g}, {self.hi:g})"


CONSTRAINT_NAMES = ("none", "positive", "softplus", "negative")


def as_constraint(c) -> AbstractConstraint:
    """`None`/"none", "positive", "softplus", "negative", `(lo, hi)` or a
    constraint object."""
    if isinstance(c, AbstractConstraint):
        return c
    if c is None or c == "none":
        return Identity()
    if isinstance(c, str):
        if c == "positive":
            return Positive()
        if c == "softplus":
            return Positive("softplus")
        if c == "negative":
            return Negative()
        close = difflib.get_close_matches(c, CONSTRAINT_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown constraint {c!r}; use one of {CONSTRAINT_NAMES} or an "
            f"interval [lo, hi].{hint}"
        )
    if isinstance(c, Sequence) and len(c) == 2:
        return Interval(float(c[0]), float(c[1]))
    raise ValueError(
        f"a constraint must be one of {CONSTRAINT_NAMES}, an interval (lo, hi) or "
        f"an AbstractConstraint; got {c!r}."
    )


class Param(eqx.Module):
    """One trainable parameter.

    **Arguments:**

    - `where`: a dotted path into the parameter pytree (`"a_P"` for a field of
      `SusmanParams`, `"model.plasticity.rules.0.tau_P"` for any `eqx.Module`
      tree: attributes, dict keys and sequence indices), or a callable
      `tree -> leaf` as for `eqx.tree_at`.
    - `constraint`: `None`, `"positive"`, `"softplus"`, `"negative"`,
      `(lo, hi)` or an `AbstractConstraint`.
    - `name`: label in results and messages (default: the path; required for a
      callable).
    """

    where: Callable[[Any], Any] = eqx.field(static=True)
    constraint: AbstractConstraint
    name: str = eqx.field(static=True)

    def __init__(self, where, constraint=None, name: str | None = None):
        if isinstance(where, str):
            self.name = where if name is None else name
            self.where = path_getter(where)
        elif callable(where):
            if name is None:
                raise ValueError(
                    "Param: a callable `where` needs a `name=` for results and "
                    "messages."
                )
            self.name = name
            self.where = where
        else:
            raise TypeError(
                f"Param: `where` must be a dotted path or a callable, got {where!r}."
            )
        self.constraint = as_constraint(constraint)

    def get(self, tree):
        return self.where(tree)


def as_params(params, constraints=None) -> tuple[Param, ...]:
    """Normalise `params` (names, `Param`s, or a dict name → constraint) to a
    tuple of `Param`, with `constraints` (dict name → constraint) applied to
    names given as strings."""
    constraints = dict(constraints or {})
    if isinstance(params, str | Param):
        params = [params]
    if isinstance(params, dict):
        items = list(params.items())
    else:
        items = [(p, None) for p in params]
    out: list[Param] = []
    for p, c in items:
        if isinstance(p, Param):
            out.append(p)
        elif isinstance(p, str):
            c = constraints.pop(p, c)
            out.append(Param(p, c))
        else:
            raise TypeError(
                f"trainable parameters are given as paths or `Param`s, got {p!r}."
            )
    if constraints:
        names = [p.name for p in out]
        bad = next(iter(constraints))
        close = difflib.get_close_matches(bad, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"constraint given for {bad!r}, which is not a trainable parameter "
            f"({names}).{hint}"
        )
    names = [p.name for p in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"trainable parameter(s) listed twice: {sorted(dup)}.")
    if not out:
        raise ValueError("no trainable parameters given.")
    return tuple(out)


def check_leaf(param: Param, tree) -> jax.Array:
    """The current value of `param` in `tree`, checked to be a float array leaf
    that lies inside its constraint."""
    leaf = param.get(tree)
    if not eqx.is_array(leaf) or not jnp.issubdtype(leaf.dtype, jnp.inexact):
        raise ValueError(
            f"trainable parameter {param.name!r} must be a floating-point array "
            f"leaf, got {type(leaf).__name__} {leaf!r}."
        )
    if not param.constraint.contains(leaf):
        raise ValueError(
            f"the starting value of {param.name!r} ({np.asarray(leaf)!r}) is not "
            f"inside its constraint ({param.constraint.describe()})."
        )
    return leaf


def set_values(params: Sequence[Param], tree, values: Sequence):
    """`tree` with each parameter replaced by the matching value."""
    return set_leaves(tree, [p.where for p in params], values)
