"""Progress from inside a compiled run.

A long run is one compiled call; without help, nothing is heard from it until
it returns. `iterate(..., progress=True)` and `simulate(..., progress=True)`
report the fraction of the run done, $(t - t_0)/(t_1 - t_0) \\in [0, 1]$, by
a host callback: a discrete run after the first save time past each
twentieth of the run, a continuous run whenever the slowest network of a
vmapped batch has advanced by another 2 % (through diffrax's progress-meter
hook, which adds a branch to every solver step), and both at the end. The
fraction is one number for the whole batch (under `jax.vmap`, the slowest
network's), so a sweep of thousands of networks calls back as often as one
network.

Whoever wants the fractions listens::

    with sleepjax.listen_progress(lambda f: print(f"{100 * f:.0f} %")):
        sim = jax.jit(run)(...)

Without a listener the callbacks do nothing. The callbacks are side effects
only: a run computes the same numbers with and without them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import diffrax
import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import numpy as np

_LISTENERS: list[Callable[[float], None]] = []
_LOCK = threading.Lock()


@contextlib.contextmanager
def listen_progress(fn: Callable[[float], None]) -> Iterator[None]:
    """Call `fn(fraction)` for every progress report of the runs made while
    the context is open (reports come from XLA's threads; keep `fn` quick)."""
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {fn!r}.")
    with _LOCK:
        _LISTENERS.append(fn)
    try:
        yield
    finally:
        with _LOCK:
            _LISTENERS.remove(fn)


def _deliver(fraction, *after) -> None:
    f = float(np.min(np.asarray(fraction)))  # one value (a batch: the slowest)
    with _LOCK:
        listeners = list(_LISTENERS)
    for fn in listeners:
        fn(f)


def report_progress(fraction, after=None) -> None:
    """Report `fraction` (a traced scalar, not batched) to the listeners, once
    `after` (any pytree, e.g. the state just computed; batched or not) is
    computed: without that dependency XLA may run the callback early."""
    leaves = [a for a in jax.tree_util.tree_leaves(after) if jnp.size(a)]
    if leaves:
        first = jnp.ravel(leaves[0])[0]
        marker = eqxi.unvmap_max(jnp.isnan(first.astype(jnp.float32)))
        jax.debug.callback(_deliver, fraction, marker)
    else:
        jax.debug.callback(_deliver, fraction)


def _unvmap_min(x):
    return -eqxi.unvmap_max(-x)


class ProgressReporter(diffrax.AbstractProgressMeter):
    """A diffrax progress meter that reports to `listen_progress`'s listeners
    when the slowest network has advanced by `minimum_increase` since the
    last report, and at the end."""

    minimum_increase: float = eqx.field(static=True, default=0.02)

    def init(self):
        return jnp.zeros(())

    def step(self, state, progress):
        progress = _unvmap_min(jnp.asarray(progress, jnp.result_type(float)))
        due = (progress - state >= self.minimum_increase) | (progress >= 1.0)

        def tell(p):
            report_progress(p, p)
            return p

        return jax.lax.cond(eqxi.nonbatchable(due), tell, lambda _: state, progress)

    def close(self, state):
        report_progress(jnp.ones(()), state)  # after the last step
