"""Shared fixtures for the numerical test suite.

`jax_enable_x64` is global state: tests that need float64 request the `x64`
fixture, which turns it on for that test only and restores the previous value
afterwards (JAX's compilation cache is keyed on the flag, so float32 and
float64 programs never mix). Arrays must be created inside the test, not at
import time, to get the intended dtype.

For the whole session, multi-dimensional random draws are made flat and
reshaped (`flat_threefry`: the same numbers, compiled much faster).
"""

from __future__ import annotations

import jax
import pytest


def pytest_addoption(parser, pluginmanager):
    """pyproject's addopts run the suite on two pytest-xdist workers (`-n 2
    --dist loadfile`). Without pytest-xdist (not installed, or `-p no:xdist`)
    those options are accepted and ignored: the suite runs in one process."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "placeholders: pytest-xdist is not loaded")
    # `_addoption`: pytest reserves lowercase short options (xdist does the same)
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)
    group.addoption("--dist", dest="dist", default="no")


#: Files whose tests reuse programs that another file's tests compiled (the
#: same jitted functions at the same shapes: JAX's in-process cache) -> that
#: file. Under `--dist loadfile` they join its work unit, so they run on its
#: worker, after it, as in one process: test_reference.py's demo is
#: test_cli.py's test_demo_tiny (~65 s of compiling when run apart).
SAME_WORKER = {"tests/test_reference.py": "tests/test_cli.py"}


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with the files of `SAME_WORKER` joined."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(scope, scope)

    return Scheduling(config, log)


@pytest.fixture
def x64():
    """Run one test with float64 enabled (restored afterwards)."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", prev)


@pytest.fixture(scope="session", autouse=True)
def flat_threefry():
    """Draw multi-dimensional threefry random arrays flat, then reshape.

    XLA:CPU compiles the partitionable threefry of a rank >= 3 shape very
    slowly (a `jr.normal` of shape (4, 4, 8, 16) takes ~7 s to compile, the
    same 2048 numbers drawn flat ~0.5 s), which dominates tests that
    initialise convolution kernels; rank-2 draws are flattened too (under
    `vmap` they become rank 3). With `jax_threefry_partitionable` (the
    default) element i of a draw depends only on the key and its flat index
    (`iota_2x32_shape(shape)` is the reshaped flat iota), so drawing
    `prod(shape)` numbers and reshaping gives the same bits: every number the
    package draws is unchanged, only its compilation is faster (checked on the
    counters here; tests/test_reference.py checks whole runs bitwise, and the
    tests that compare child processes, which run unpatched, with this one
    check it too). Measured: the dreaming and VAE tests compile in half the
    time, sweeps of the Hopfield and memory tests ~4 % faster. A no-op if
    JAX's internals differ."""
    import math

    import numpy as np

    try:
        from jax._src import core
        from jax._src.random import prng
        from jax._src.random import threefry2x32 as tf

        orig = tf._threefry_random_bits_partitionable
        # the counters (hence the bits) of a shape are the flat ones reshaped
        same = all(
            np.array_equal(a, np.asarray(b).reshape(2, 3, 4))
            for a, b in zip(
                prng.iota_2x32_shape((2, 3, 4)),
                prng.iota_2x32_shape((24,)),
                strict=True,
            )
        )
    except (ImportError, AttributeError):
        same = False
    if not same:
        yield
        return

    def flat(key, bit_width, shape):
        shape = tuple(shape)
        if len(shape) > 1 and all(core.is_constant_dim(d) for d in shape):
            return orig(key, bit_width, (math.prod(shape),)).reshape(shape)
        return orig(key, bit_width, shape)

    tf._threefry_random_bits_partitionable = flat
    try:
        yield
    finally:
        tf._threefry_random_bits_partitionable = orig


@pytest.fixture(scope="module")
def x64_module():
    """Float64 for a whole module: `pytestmark = pytest.mark.usefixtures(...)`."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", prev)
