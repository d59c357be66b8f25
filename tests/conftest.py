"""Shared fixtures for the numerical test suite.

`jax_enable_x64` is global state: tests that need float64 request the `x64`
fixture, which turns it on for that test only and restores the previous value
afterwards (JAX's compilation cache is keyed on the flag, so float32 and
float64 programs never mix). Arrays must be created inside the test, not at
import time, to get the intended dtype.
"""

from __future__ import annotations

import jax
import pytest


@pytest.fixture
def x64():
    """Run one test with float64 enabled (restored afterwards)."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", prev)


@pytest.fixture(scope="module")
def x64_module():
    """Float64 for a whole module: `pytestmark = pytest.mark.usefixtures(...)`."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", prev)
