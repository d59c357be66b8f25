"""Errors and eager validation: one home for both.

- `ConfigError`: a bad configuration or argument; the message names the key
  and the fix.
- `suggest` / `unknown`: did-you-mean suggestions for misspelt names.
- Domains (`Positive`, `NonNegative`, `Interval`, `Choice`, `Integer`,
  `Real`): a parameter's valid values, declared once next to its field
  (`sleepjax.param`, `dataclasses.field(metadata=...)`, `typing.Annotated`)
  and read by every layer: Python constructors, configs, sweeps and fits.
- Numeric checks on concrete values (`check_positive`, `check_shape`,
  `n_steps`, ...).

Checks run only on concrete values. Inside `jax.vmap`/`jax.jit` a parameter may be
a tracer; then the check is skipped here and the caller relies on runtime guards
(`eqx.error_if`) or on the eager validation of the sweep/config layer.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the fix."""


def suggest(name, valid: Iterable) -> str:
    """' (did you mean 'x'?)' for the nearest valid name, or ''."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], 1, 0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, name, valid: Iterable) -> ConfigError:
    """`ConfigError`: unknown `kind` `name`, with a suggestion and the valid names."""
    valid = list(valid)
    return ConfigError(
        f"unknown {kind} {name!r}{suggest(name, valid)}; valid: "
        f"{', '.join(sorted(map(str, valid)))}."
    )


# ------------------------------------------------------------------ domains
def _is_number(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool
    )


@dataclasses.dataclass(frozen=True)
class Domain:
    """The valid values of a parameter (any finite number by default).

    `check(value, label)` returns the value (a float for numbers) or raises
    `ConfigError` with a message that starts with `label`, e.g.
    ``"[model] tau_y must be > 0, got -1.0."``. Arrays (from Python
    constructors) are checked elementwise; tracers are not checked.
    """

    def _bad(self, a) -> bool:
        return False

    def describe(self) -> str:
        return "a finite number"

    def check(self, value, label: str):
        if isinstance(value, jax.core.Tracer):
            return value
        if isinstance(value, np.ndarray | jax.Array) and np.ndim(value) > 0:
            a = np.asarray(value)
        elif _is_number(value) or isinstance(value, np.ndarray | jax.Array):
            a = np.asarray(value)
        else:
            raise ConfigError(f"{label} must be a number, got {value!r}.")
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            raise ConfigError(f"{label} must be finite, got {value!r}.")
        if self._bad(a):
            raise ConfigError(f"{label} must be {self.describe()}, got {value!r}.")
        return float(value) if _is_number(value) else value


@dataclasses.dataclass(frozen=True)
class Real(Domain):
    """Any finite number."""


@dataclasses.dataclass(frozen=True)
class Positive(Domain):
    """x > 0."""

    def _bad(self, a):
        return bool(np.any(a <= 0))

    def describe(self):
        return "> 0"


@dataclasses.dataclass(frozen=True)
class OnGrid(Positive):
    """A time > 0 that is a whole number of the experiment's steps dt (a
    protocol setting such as an insertion time or a save interval; checked
    against dt once the experiment is built)."""

    def on_grid(self, value: float, dt: float) -> bool:
        k = value / dt
        return abs(k - round(k)) <= 1e-6 * max(1.0, k)


@dataclasses.dataclass(frozen=True)
class InRun(Domain):
    """A time, or a window of times, that must lie inside the run [t0, t1]
    (checked once the experiment is built: a window past the end would leave
    its input silently off)."""

    def inside(self, value, t0: float, t1: float) -> bool:
        vals = np.ravel(np.asarray(value, dtype=float))
        return bool(np.all((vals >= t0) & (vals <= t1)))

    def check(self, value, label: str):
        a = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(a)):
            raise ConfigError(f"{label} must be finite, got {value!r}.")
        return value


@dataclasses.dataclass(frozen=True)
class NonNegative(Domain):
    """x >= 0."""

    def _bad(self, a):
        return bool(np.any(a < 0))

    def describe(self):
        return ">= 0"


@dataclasses.dataclass(frozen=True)
class Interval(Domain):
    """lo <= x <= hi (`open=True`: lo < x < hi)."""

    lo: float
    hi: float
    open: bool = False

    def _bad(self, a):
        if self.open:
            return bool(np.any((a <= self.lo) | (a >= self.hi)))
        return bool(np.any((a < self.lo) | (a > self.hi)))

    def describe(self):
        b = "()" if self.open else "[]"
        return f"in {b[0]}{self.lo:g}, {self.hi:g}{b[1]}"


@dataclasses.dataclass(frozen=True)
class Integer(Domain):
    """An integer >= `minimum` (a static size or count)."""

    minimum: int = 0

    def describe(self):
        return f"an integer >= {self.minimum}"

    def check(self, value, label: str):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ConfigError(f"{label} must be an integer, got {value!r}.")
        if value < self.minimum:
            raise ConfigError(f"{label} must be {self.describe()}, got {value!r}.")
        return int(value)


@dataclasses.dataclass(frozen=True)
class Choice(Domain):
    """One of a fixed set of names (a static variant)."""

    choices: tuple

    def describe(self):
        return "one of " + ", ".join(map(repr, self.choices))

    def check(self, value, label: str):
        if value not in self.choices:
            raise ConfigError(
                f"unknown {label} {value!r}{suggest(value, self.choices)}; valid: "
                f"{', '.join(map(str, self.choices))}."
            )
        return value


def annotation_domains(annotation) -> tuple[Domain, ...]:
    """The domains of a type annotation: those in `Annotated[..., D1, D2]`,
    or a `Choice` for `Literal[...]`."""
    out = []
    if typing.get_origin(annotation) is typing.Annotated:
        out = [d for d in annotation.__metadata__ if isinstance(d, Domain)]
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Literal:
        out.append(Choice(tuple(typing.get_args(annotation))))
    return tuple(out)


def annotation_domain(annotation) -> Domain | None:
    """The first domain of a type annotation (see `annotation_domains`)."""
    ds = annotation_domains(annotation)
    return ds[0] if ds else None


def is_concrete(x) -> bool:
    """True when `x` holds concrete values (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


def as_param(x, name: str):
    """Convert a parameter to a JAX array leaf, refusing non-numeric input."""
    if isinstance(x, jax.core.Tracer):
        return x
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"parameter `{name}` must be a number or an array, got {x!r}")
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return arr


def check_finite(name: str, x) -> None:
    """Raise ValueError if a concrete parameter contains NaN or Inf."""
    if x is None or not is_concrete(x):
        return
    a = np.asarray(x)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(
            f"parameter `{name}` contains NaN or Inf ({a!r}); give a finite value."
        )


def check_positive(name: str, x, *, allow_zero: bool = False) -> None:
    """Raise ValueError if a concrete parameter is not (strictly) positive."""
    if x is None or not is_concrete(x):
        return
    check_finite(name, x)
    a = np.asarray(x)
    bad = np.any(a < 0) if allow_zero else np.any(a <= 0)
    if bad:
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"parameter `{name}` must be {rel}, got {a!r}.")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise ValueError naming the valid options for a categorical setting."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )


def check_shape(name: str, x, shape: tuple[int, ...]) -> None:
    """Raise ValueError if `x` does not have exactly `shape`."""
    got = tuple(jnp.shape(x))
    if got != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)}, got {got}.")


def n_steps(t0: float, t1: float, dt: float, *, what: str = "horizon") -> int:
    """Number of fixed steps of size dt in [t0, t1]; errors if not a whole number."""
    for nm, v in (("t0", t0), ("t1", t1), ("dt", dt)):
        if not math.isfinite(float(v)):
            raise ValueError(f"`{nm}` must be finite, got {v!r}.")
    if dt <= 0:
        raise ValueError(f"`dt` must be > 0, got {dt!r}.")
    if t1 <= t0:
        raise ValueError(
            f"the {what} must be positive: need t1 > t0, got t0={t0}, t1={t1}."
        )
    k = (t1 - t0) / dt
    n = round(k)
    if abs(k - n) > 1e-6 * max(1.0, k):
        raise ValueError(
            f"(t1 - t0) / dt = {k:.6g} is not a whole number of steps; choose dt "
            f"dividing the {what} {t1 - t0:g}."
        )
    return int(n)
