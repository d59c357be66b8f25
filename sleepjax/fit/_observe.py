"""What a fit needs of an experiment's observables (any `AbstractObservables`;
other callables are used as they are)."""

from __future__ import annotations

from .._spec import AbstractObservables


def available_names(observe) -> tuple[str, ...] | None:
    """The names a fit can read from `observe`, if known statically."""
    if isinstance(observe, AbstractObservables):
        return observe.available()
    return None


def families(observe) -> dict[str, tuple[str, ...]]:
    """The named groups of observables `observe` declares."""
    return dict(observe.families) if isinstance(observe, AbstractObservables) else {}


def expand(observe, names) -> tuple[str, ...]:
    """`names` with `observe`'s family names replaced by their members."""
    if isinstance(names, str):
        names = (names,)
    if isinstance(observe, AbstractObservables):
        return observe.expand(names)
    return tuple(names)


def differentiable(observe, names=None):
    """A differentiable replacement for an Experiment's `observe`, computing
    `names` (default: all it saves). An `AbstractObservables` gives its own
    (`observe.differentiable`); any other callable is returned unchanged (it
    must be differentiable itself), as a `dict`-valued `(t, state, model)`
    function."""
    if isinstance(observe, AbstractObservables):
        if names is not None:
            names = expand(observe, names)
        return observe.differentiable(names)
    return observe
