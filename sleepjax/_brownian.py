"""A fast, deterministic, reverse-differentiable Brownian path for fixed steps."""

from __future__ import annotations

import zlib

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, PRNGKeyArray, PyTree

# Fraction of a step by which a query may miss the grid (float32 times at
# t ~ 1e5 with dt = 0.1 are off by < 0.1 step).
_GRID_TOL = 0.25

# ---------------------------------------------------------------------------
# Fast threefry normals.
#
# On CPU, JAX lowers its threefry2x32 hash as a rolled 5-iteration loop: every
# iteration writes the two N²-element words to memory and nothing fuses with
# the normal transform around it. Written out in jax.numpy, the same 20 rounds
# fuse into one elementwise loop with the uniform -> erf_inv transform: about
# 3x faster for the bits and ~1.5x for the normals on a 2-core CPU
# (benchmarks/prng.py). The values are bit-for-bit those of
# `jax.random.normal(key, shape, float32)` with JAX's default (partitionable)
# threefry, which the tests check.

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(v, r: int):
    return (v << np.uint32(r)) | (v >> np.uint32(32 - r))


def _threefry2x32(k1, k2, x0, x1):
    """The Threefry-2x32 block cipher (20 rounds), unrolled, elementwise."""
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = x0 ^ _rotl(x1, r)
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _threefry_fold_in(kd, data):
    """`jax.random.fold_in` on raw threefry key data `(2,)` uint32."""
    zero = jnp.zeros((), jnp.uint32)
    a, b = _threefry2x32(kd[0], kd[1], zero, jnp.asarray(data, jnp.uint32))
    return jnp.stack([a, b])


def _threefry_normal(kd, shape, dtype):
    """`jax.random.normal` (float32, partitionable threefry) from key data."""
    size = int(np.prod(shape, dtype=np.int64))
    if size >= 2**32:
        raise ValueError("FoldInBrownianPath: a noise leaf must have < 2**32 entries.")
    counts = jax.lax.iota(jnp.uint32, size).reshape(shape)
    b1, b2 = _threefry2x32(kd[0], kd[1], jnp.zeros_like(counts), counts)
    bits = b1 ^ b2
    f32 = np.float32
    lo = np.nextafter(f32(-1.0), f32(0.0))
    u = jax.lax.bitcast_convert_type(
        (bits >> np.uint32(9)) | np.uint32(0x3F800000), f32
    )
    u = jnp.maximum(lo, (u - f32(1.0)) * (f32(1.0) - lo) + lo)
    return (f32(np.sqrt(2.0)) * jax.lax.erf_inv(u)).astype(dtype)


def _use_fast_threefry(key) -> bool:
    """Threefry keys under JAX's default (partitionable) bit generation."""
    return (
        str(jr.key_impl(key)) == "threefry2x32"
        and jax.config.jax_threefry_partitionable
    )


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

    For threefry keys and float32 leaves, $z$ is computed by a fused, unrolled
    threefry (see `benchmarks/prng.py`) that is bit-for-bit
    `jax.random.normal(key, shape, float32)` under JAX's default
    (partitionable) threefry, ~1.5x faster on CPU; other key implementations
    and dtypes call `jax.random.normal`.

    It is defined on its grid only: querying an interval that does not start on
    the grid or is not a whole number of steps (e.g. from an adaptive step-size
    controller) raises an error at run time; use `diffrax.VirtualBrownianTree`
    for adaptive solves. Intervals of m > 1 steps (multirate stepping) get one
    draw with variance m·Δt; a path queried on a coarser grid is therefore a
    different (equally valid) realisation from the fine one. With
    `nested=True` an m-step increment is instead the sum of the m single-step
    increments: every grid that is a multiple of `dt` sees the same
    realisation (for comparing solvers or step sizes on one Brownian path,
    e.g. strong errors), at the cost of m draws per query.

    Each leaf's key is derived from its path in the shape pytree (not from its
    position), so the weight noise of step k is the same whether or not other
    noise sources are present, and a subset of the leaves can be sampled alone
    (`evaluate_shape`).

    **Arguments:**

    - `shape`: pytree of `jax.ShapeDtypeStruct` (one leaf per noise source).
    - `key`: a JAX PRNG key (any implementation: threefry2x32, rbg, unsafe_rbg).
    - `t0`: start of the grid (time units).
    - `dt`: grid spacing (time units).
    - `nested`: sum the single-step increments over multi-step intervals
      (default `False`: one draw of variance m·Δt).
    """

    shape: PyTree[jax.ShapeDtypeStruct] = eqx.field(static=True)
    key: PRNGKeyArray
    grid_t0: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    levy_area: type = eqx.field(static=True, default=diffrax.BrownianIncrement)
    nested: bool = eqx.field(static=True, default=False)

    def __init__(self, shape, key, t0: float, dt: float, nested: bool = False):
        if dt <= 0:
            raise ValueError(f"FoldInBrownianPath: `dt` must be > 0, got {dt!r}.")
        self.shape = shape
        self.key = key
        self.grid_t0 = float(t0)
        self.dt = float(dt)
        self.levy_area = diffrax.BrownianIncrement
        self.nested = bool(nested)

    @property
    def t0(self):
        return self.grid_t0

    @property
    def t1(self):
        return jnp.inf

    @staticmethod
    def _leaf_tag(path) -> int:
        return zlib.crc32(jtu.keystr(path).encode()) & 0x7FFFFFFF

    def _leaf_key(self, path) -> PRNGKeyArray:
        return jr.fold_in(self.key, self._leaf_tag(path))

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
        if not self.nested:
            return self._draw(k, m, shape)

        def add(j, acc):
            one = self._draw(k + j, jnp.ones((), m.dtype), shape)
            return jtu.tree_map(jnp.add, acc, one)

        zeros = jtu.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shape)
        return jax.lax.fori_loop(0, m.astype(jnp.int32), add, zeros)

    def _draw(self, k, m, shape) -> PyTree[Array]:
        """Increments of `m` steps from grid index `k` (an int32 scalar): one
        normal draw per leaf from `fold_in(fold_in(key, leaf), k)`."""
        fast = _use_fast_threefry(self.key)
        kd = jr.key_data(self.key) if fast else None

        def leaf(path, sds):
            scale = jnp.sqrt(m * self.dt).astype(sds.dtype)
            if fast and sds.dtype == jnp.float32:
                leaf_kd = _threefry_fold_in(kd, self._leaf_tag(path))
                step_kd = _threefry_fold_in(leaf_kd, k)
                z = _threefry_normal(step_kd, sds.shape, sds.dtype)
            else:
                key = jr.fold_in(self._leaf_key(path), k)
                z = jr.normal(key, sds.shape, sds.dtype)
            return scale * z

        return jtu.tree_map_with_path(leaf, shape)

    def increments(self, n: int) -> PyTree[Array]:
        """The first `n` single-step increments, stacked: for tests and references."""

        def one(k):
            t = self.grid_t0 + k * self.dt
            return self.evaluate(t, t + self.dt)

        return jax.vmap(one)(jnp.arange(n))
