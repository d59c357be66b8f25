"""Spectral observables of a weight matrix: eigenvalues, memory eigenvalue, skew
spectrum, memory eigenplane and entry statistics."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float, Int

from ._planes import _check_vector, _safe_normalise, orthonormal_basis


def _as_square(name: str, W) -> Array:
    shape = jnp.shape(W)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(
            f"`{name}` must be a square matrix of shape (n, n), got {shape}; "
            "use jax.vmap for a batch of matrices."
        )
    W = jnp.asarray(W)
    if not jnp.issubdtype(W.dtype, jnp.inexact):
        W = W.astype(jnp.result_type(float))
    return W


def eigenvalues(W: Float[ArrayLike, "n n"]) -> Complex[Array, " n"]:
    """Eigenvalues of a (real, generally non-symmetric) weight matrix.

    Solves $W e = \\lambda e$ with `jnp.linalg.eig` (a general, non-Hermitian
    eigensolver: CPU only in JAX). For only the rotational part of $W$ on any
    device, see [`sleepjax.analysis.skew_spectrum`][].

    **Arguments:**

    - `W`: the weight matrix, shape `(n, n)`.

    **Returns:**

    The `n` complex eigenvalues, in LAPACK's order (unsorted).
    """
    W = _as_square("W", W)
    return jnp.linalg.eigvals(W)


class MemoryEigen(NamedTuple):
    """The eigenvalue of $W$ that carries a memory, see
    [`sleepjax.analysis.memory_eigenvalue_and_overlap`][]."""

    eigenvalue: Complex[Array, ""]
    """The memory eigenvalue, with $\\operatorname{Im}\\lambda \\ge 0$."""
    overlap: Float[Array, ""]
    """$\\lVert Q^\\top e\\rVert^2 \\in [0, 1]$ of its unit eigenvector $e$."""
    index: Int[Array, ""]
    """Its position in the output of `jnp.linalg.eig(W)`."""


def _memory_eigen(W, u, v) -> tuple[Array, Array, Array, Array]:
    W = _as_square("W", W)
    n = W.shape[0]
    _check_vector("u", u, n)
    q, _ = orthonormal_basis(jnp.asarray(u, dtype=W.dtype), v)
    evals, evecs = jnp.linalg.eig(W)
    # Columns of `evecs` are the eigenvectors; normalise defensively.
    norms2 = jnp.sum(jnp.abs(evecs) ** 2, axis=0)
    proj = q.astype(evecs.dtype) @ evecs
    overlap = jnp.sum(jnp.abs(proj) ** 2, axis=0) / norms2
    index = jnp.argmax(overlap)
    return evals[index], overlap[index], index, evecs[:, index]


def memory_eigenvalue_and_overlap(
    W: Float[ArrayLike, "n n"],
    u: Float[ArrayLike, " n"],
    v: Float[ArrayLike, " n"] | None = None,
) -> MemoryEigen:
    """The memory eigenvalue of $W$ and how much of its eigenvector lies in span(u, v).

    With $Q$ an orthonormal basis of span(u, v) (rows, Gram–Schmidt) and $e_k$ the
    unit-norm complex eigenvectors of $W$, the memory eigenvalue is $\\lambda_k$
    with

    $$k = \\arg\\max_k \\lVert Q e_k\\rVert^2 ,$$

    the projection onto the memory plane (Susman et al. 2019). This is more
    robust than sorting eigenvalues by size. A real $W$ has conjugate pairs
    $(\\lambda, \\bar\\lambda)$ whose eigenvectors $(e, \\bar e)$ have the same
    projection onto a real plane, so the result is returned with
    $\\operatorname{Im}\\lambda \\ge 0$ (imaginary-coded memory
    $\\rho(uv^\\top - vu^\\top)$ gives $+i\\rho$ for either orientation).

    Real-coded memories ($\\rho\\,uu^\\top$): pass `v=None` (or `v=u`); the
    projection is then onto the line span(u).

    Uses `jnp.linalg.eig` (CPU only). Not differentiable: JAX does not
    differentiate general eigenvectors.

    **Arguments:**

    - `W`: the weight matrix, shape `(n, n)`.
    - `u`, `v`: the memory vectors, shape `(n,)`; any length, need not be
      orthogonal. `v=None` for a real-coded memory.

    **Returns:**

    A [`sleepjax.analysis.MemoryEigen`][] named tuple
    `(eigenvalue, overlap, index)`.
    """
    lam, overlap, index, _ = _memory_eigen(W, u, v)
    lam = jnp.real(lam) + 1j * jnp.abs(jnp.imag(lam))
    return MemoryEigen(lam, overlap, index)


def memory_eigenvalue(
    W: Float[ArrayLike, "n n"],
    u: Float[ArrayLike, " n"],
    v: Float[ArrayLike, " n"] | None = None,
) -> Complex[Array, ""]:
    """The memory eigenvalue of $W$ for the memory span(u, v).

    The eigenvalue whose unit eigenvector $e$ maximises $\\lVert Q e\\rVert^2$,
    $Q$ an orthonormal basis of span(u, v), returned with
    $\\operatorname{Im}\\lambda \\ge 0$. See
    [`sleepjax.analysis.memory_eigenvalue_and_overlap`][], which also returns
    the projection.

    **Arguments:**

    - `W`: the weight matrix, shape `(n, n)`.
    - `u`, `v`: the memory vectors, shape `(n,)`; `v=None` (or `v=u`) for a
      real-coded memory.

    **Returns:**

    The memory eigenvalue, a complex scalar.
    """
    return memory_eigenvalue_and_overlap(W, u, v).eigenvalue


def eigenplane(
    W: Float[ArrayLike, "n n"],
    u: Float[ArrayLike, " n"],
    v: Float[ArrayLike, " n"] | None = None,
) -> Float[Array, "2 n"]:
    """Orthonormal basis of the real plane of the memory eigenvector.

    For the memory eigenvector $e = a + ib$ (see
    [`sleepjax.analysis.memory_eigenvalue_and_overlap`][]), the plane
    span(a, b) is invariant under $W$. The arbitrary complex phase of $e$ is
    fixed first, $e \\leftarrow e\\,e^{-i\\theta}$ with
    $\\theta = \\tfrac12\\arg(e^\\top e)$, which makes $a \\perp b$ and
    $\\lVert a\\rVert \\ge \\lVert b\\rVert$; then both are normalised. For a
    real eigenvalue $b = 0$ and the second row is zero (a line).

    `plane_overlap(*eigenplane(W, u, v), u, v)` measures how well the memory
    plane is kept by $W$.

    **Arguments:**

    - `W`: the weight matrix, shape `(n, n)`.
    - `u`, `v`: the memory vectors, shape `(n,)`; `v=None` for a real-coded
      memory.

    **Returns:**

    An array of shape `(2, n)` whose rows are orthonormal (or zero).
    """
    _, _, _, e = _memory_eigen(W, u, v)
    z = jnp.sum(e * e)
    e = e * jnp.exp(-0.5j * jnp.angle(z))
    a, b = jnp.real(e), jnp.imag(e)
    tiny = jnp.finfo(a.dtype).tiny
    eps = jnp.finfo(a.dtype).eps
    qa, _ = _safe_normalise(a, tiny)
    # Remove any residual overlap with `a` before normalising `b`.
    b = b - jnp.dot(b, qa) * qa
    qb, _ = _safe_normalise(b, jnp.maximum(eps * jnp.sum(a * a), tiny))
    return jnp.stack([qa, qb])


def skew_spectrum(W: Float[ArrayLike, "n n"]) -> Float[Array, " n"]:
    """Imaginary parts of the eigenvalues of the skew-symmetric part of $W$.

    With $A = (W - W^\\top)/2$ (real, skew-symmetric, so its eigenvalues are
    $\\pm i\\omega_k$), $iA$ is Hermitian and

    $$iA\\,e = \\mu e \\iff A e = -i\\mu\\, e ,$$

    so the $\\omega_k$ are minus the (real) eigenvalues of $iA$, computed by
    the Hermitian solver `jnp.linalg.eigvalsh`. It runs on any device,
    scales better than a general `eig`, and is differentiable (for
    non-degenerate spectra). The spectrum is symmetric about 0.

    **Arguments:**

    - `W`: the weight matrix, shape `(n, n)`.

    **Returns:**

    The `n` values $\\operatorname{Im}\\lambda_k(A)$, sorted ascending.
    """
    W = _as_square("W", W)
    A = 0.5 * (W - W.T)
    mu = jnp.linalg.eigvalsh(1j * A)
    return jnp.sort(-mu)


class WeightStatistics(NamedTuple):
    """Entry statistics of a weight matrix, see
    [`sleepjax.analysis.weight_statistics`][]."""

    mean: Float[Array, ""]
    """Mean entry $\\bar w$."""
    variance: Float[Array, ""]
    """Entry variance $\\sigma^2$ (population, ddof 0)."""
    bulk_radius: Float[Array, ""]
    """Circular-law radius $\\sqrt{N\\sigma^2}$."""


def weight_statistics(W: Float[ArrayLike, "n n"]) -> WeightStatistics:
    """Mean, variance and circular-law bulk radius of the entries of $W$.

    $$\\bar w = \\frac1{N^2}\\sum_{ij} W_{ij},\\qquad
    \\sigma^2 = \\frac1{N^2}\\sum_{ij} (W_{ij} - \\bar w)^2,\\qquad
    R_\\text{bulk} = \\sqrt{N\\sigma^2}.$$

    By the circular law, the eigenvalues of an $N\\times N$ matrix of i.i.d.
    entries of variance $\\sigma^2$ fill the disc of radius $\\sigma\\sqrt N$
    (plus an outlier near $N\\bar w$ if $\\bar w \\ne 0$). A few low-rank
    memory terms barely change $\\sigma^2$, so $R_\\text{bulk}$ estimates the
    radius of the noise bulk, the scale below which a memory eigenvalue is
    lost. E.g. the stationary OU weights of SPEC V1 give
    $\\sqrt{\\eta/(2\\beta)} = 0.224$.

    **Arguments:**

    - `W`: the weight matrix, shape `(n, n)`.

    **Returns:**

    A [`sleepjax.analysis.WeightStatistics`][] named tuple
    `(mean, variance, bulk_radius)`.
    """
    W = _as_square("W", W)
    n = W.shape[0]
    mean = jnp.mean(W)
    variance = jnp.mean((W - mean) ** 2)
    return WeightStatistics(mean, variance, jnp.sqrt(n * variance))
