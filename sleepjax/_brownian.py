"""A fast, deterministic, reverse-differentiable Brownian path for fixed steps."""

from __future__ import annotations

import zlib

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, PRNGKeyArray, PyTree

# Fraction of a step by which a query may miss the grid (float32 times at
# t ~ 1e5 with dt = 0.1 are off by < 0.1 step).
_GRID_TOL = 0.25


class FoldInBrownianPath(diffrax.AbstractBrownianPath):
    r"""Brownian motion sampled on a fixed grid from `fold_in(key, step)`.

    The increment over $[t_0 + k\,\Delta t,\; t_0 + (k + m)\,\Delta t]$ of leaf
    $\ell$ of the shape pytree is

    $$\sqrt{m\,\Delta t}\; z,\qquad z = \mathrm{normal}(\mathrm{fold\_in}(
      \mathrm{fold\_in}(\text{key}, \ell), k)).$$

    It is a pure function of (key, leaf, k, m): the backward pass recomputes
    exactly the increments of the forward pass, so it works with diffrax's
    `RecursiveCheckpointAdjoint` (reverse-mode gradients with the noise held
    fixed), and costs one vector of normals per step (no Brownian tree).

    It is defined on its grid only: querying an interval that does not start on
    the grid or is not a whole number of steps (e.g. from an adaptive step-size
    controller) raises an error at run time; use `diffrax.VirtualBrownianTree`
    for adaptive solves. Intervals of m > 1 steps (multirate stepping) get one
    draw with variance m·Δt; a path queried on a coarser grid is therefore a
    different (equally valid) realisation from the fine one.

    Each leaf's key is derived from its path in the shape pytree (not from its
    position), so the weight noise of step k is the same whether or not other
    noise sources are present, and a subset of the leaves can be sampled alone
    (`evaluate_shape`).

    **Arguments:**

    - `shape`: pytree of `jax.ShapeDtypeStruct` (one leaf per noise source).
    - `key`: a JAX PRNG key (any implementation: threefry2x32, rbg, unsafe_rbg).
    - `t0`: start of the grid (time units).
    - `dt`: grid spacing (time units).
    """

    shape: PyTree[jax.ShapeDtypeStruct] = eqx.field(static=True)
    key: PRNGKeyArray
    grid_t0: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    levy_area: type = eqx.field(static=True, default=diffrax.BrownianIncrement)

    def __init__(self, shape, key, t0: float, dt: float):
        if dt <= 0:
            raise ValueError(f"FoldInBrownianPath: `dt` must be > 0, got {dt!r}.")
        self.shape = shape
        self.key = key
        self.grid_t0 = float(t0)
        self.dt = float(dt)
        self.levy_area = diffrax.BrownianIncrement

    @property
    def t0(self):
        return self.grid_t0

    @property
    def t1(self):
        return jnp.inf

    def _leaf_key(self, path) -> PRNGKeyArray:
        tag = zlib.crc32(jtu.keystr(path).encode()) & 0x7FFFFFFF
        return jr.fold_in(self.key, tag)

    def step_index(self, t0, t1):
        """(k, m): start index and length in steps of [t0, t1], checked on-grid."""
        t0 = jax.lax.stop_gradient(jnp.asarray(t0))
        t1 = jax.lax.stop_gradient(jnp.asarray(t1))
        kf = (t0 - self.grid_t0) / self.dt
        mf = (t1 - t0) / self.dt
        k = jnp.round(kf)
        m = jnp.round(mf)
        off = (jnp.abs(kf - k) > _GRID_TOL) | (jnp.abs(mf - m) > _GRID_TOL) | (m < 1)
        k = eqx.error_if(
            k,
            off,
            "FoldInBrownianPath was queried off its fixed grid (an interval that "
            "does not start on the grid or is not a whole number of steps dt). It "
            "supports fixed-step solves only: for adaptive step-size controllers "
            "pass brownian=diffrax.VirtualBrownianTree(...) to simulate().",
        )
        return k.astype(jnp.int32), m

    def evaluate(self, t0, t1=None, left: bool = True, use_levy: bool = False):
        del left
        if t1 is None:
            raise ValueError(
                "FoldInBrownianPath gives increments over grid intervals only; "
                "call evaluate(t0, t1)."
            )
        out = self.evaluate_shape(t0, t1, self.shape)
        if use_levy:
            _, m = self.step_index(t0, t1)
            dt = jnp.asarray(m * self.dt)
            return jtu.tree_map(
                lambda w: diffrax.BrownianIncrement(dt=dt, W=w),
                out,
            )
        return out

    def evaluate_shape(self, t0, t1, shape) -> PyTree[Array]:
        """Increments over [t0, t1] for `shape`, a sub-pytree of `self.shape`
        (other leaves replaced by `None`); its leaves equal those of `evaluate`."""
        k, m = self.step_index(t0, t1)

        def leaf(path, sds):
            scale = jnp.sqrt(m * self.dt).astype(sds.dtype)
            key = jr.fold_in(self._leaf_key(path), k)
            return scale * jr.normal(key, sds.shape, sds.dtype)

        return jtu.tree_map_with_path(leaf, shape)

    def increments(self, n: int) -> PyTree[Array]:
        """The first `n` single-step increments, stacked: for tests and references."""

        def one(k):
            t = self.grid_t0 + k * self.dt
            return self.evaluate(t, t + self.dt)

        return jax.vmap(one)(jnp.arange(n))
