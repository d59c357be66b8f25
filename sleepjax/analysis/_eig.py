"""A general eigendecomposition whose eigenvalues *and* eigenvectors are
differentiable (JAX's `jnp.linalg.eig` differentiates eigenvalues only)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float


@jax.custom_jvp
def eig(W: Float[Array, "n n"]) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    r"""Eigenvalues and right eigenvectors of a real square matrix, differentiable.

    Forward: `jnp.linalg.eig` (LAPACK `geev`; CPU only in JAX). Derivative:
    first-order perturbation theory for a diagonalisable $W = R\Lambda R^{-1}$,
    with the rows of $R^{-1}$ the left eigenvectors (from `eig(W.T)`). With
    $F = R^{-1}\,dW\,R$,

    $$d\lambda_k = F_{kk},\qquad
      dR = R\,(F \circ E),\quad E_{jk} = \frac{1}{\lambda_k - \lambda_j}\ (j\ne k),
      \ E_{kk} = 0 .$$

    The eigenvector derivative is in the gauge with no component along the
    eigenvector itself; quantities that do not depend on an eigenvector's norm or
    phase (projections after normalising, eigenplanes) are differentiated
    correctly. Near-degenerate pairs ($|\lambda_k - \lambda_j|$ below
    `sqrt(eps)·max|λ|`) get no eigenvector coupling instead of an infinite one.

    The JVP is linear in $dW$, so reverse mode (`jax.grad`) works by transposition.
    """
    lam, R = jnp.linalg.eig(W)
    return lam, R


def _left_eigenvectors(W, lam, R):
    """Rows: left eigenvectors of W, biorthonormal to the columns of R
    (`L @ R = I` for distinct eigenvalues), i.e. `inv(R)` without an LU.

    They are the right eigenvectors of Wᵀ (`vᵀ W = λ vᵀ`), matched to `lam` by
    eigenvalue. Avoiding `inv` matters on CPU: LU (`getrf`) runs through the
    multithreaded OpenBLAS that jaxlib borrows from scipy, and on an
    oversubscribed machine every call can stall for ~20 ms
    waiting for its threads (`geev` does not)."""
    mu, V = jnp.linalg.eig(W.T)
    j = jnp.argmin(jnp.abs(lam[:, None] - mu[None, :]), axis=1)
    L = V[:, j].T
    return L / jnp.sum(L * R.T, axis=1)[:, None]


@eig.defjvp
def _eig_jvp(primals, tangents):
    (W,), (dW,) = primals, tangents
    lam, R = jnp.linalg.eig(W)
    ctype = R.dtype
    Rinv = _left_eigenvectors(W, lam, R)
    F = Rinv @ dW.astype(ctype) @ R
    dlam = jnp.diagonal(F)
    diff = lam[None, :] - lam[:, None]  # [j, k] = λ_k − λ_j
    scale = jnp.max(jnp.abs(lam))
    tol = jnp.sqrt(jnp.finfo(W.dtype).eps) * jnp.maximum(scale, 1.0)
    ok = jnp.abs(diff) > tol
    E = jnp.where(ok, 1.0 / jnp.where(ok, diff, 1.0), 0.0).astype(ctype)
    dR = R @ (F * E)
    return (lam, R), (dlam, dR)
