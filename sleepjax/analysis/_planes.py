"""Memory planes: orthonormal bases, plane overlap and reduced coordinates.

A memory in the Susman et al. (2019) model is a pair of vectors (u, v): an
imaginary-coded memory lives in the plane span(u, v), a real-coded one on the
line span(u) (pass `v=None`, or `v=u`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def _check_vector(name: str, x, n: int | None = None) -> int:
    shape = jnp.shape(x)
    if len(shape) != 1:
        raise ValueError(f"`{name}` must be a 1-D vector of shape (n,), got {shape}.")
    if n is not None and shape[0] != n:
        raise ValueError(
            f"`{name}` must have length {n} to match the other vectors, got {shape[0]}."
        )
    return shape[0]


def _safe_normalise(x: Float[Array, " n"], ok_threshold) -> tuple[Array, Array]:
    """x/|x| where |x|² > ok_threshold, else zeros; NaN-free values and gradients."""
    sq = jnp.sum(x * x)
    ok = sq > ok_threshold
    safe_sq = jnp.where(ok, sq, 1.0)
    return jnp.where(ok, x / jnp.sqrt(safe_sq), 0.0), ok


def orthonormal_basis(
    u: Float[ArrayLike, " n"], v: Float[ArrayLike, " n"] | None = None
) -> tuple[Float[Array, "2 n"], Float[Array, ""]]:
    """Orthonormal basis of span(u, v) by Gram–Schmidt.

    $$q_1 = u/\\lVert u\\rVert,\\qquad
    q_2 = \\frac{v - (v\\cdot q_1) q_1}{\\lVert v - (v\\cdot q_1) q_1\\rVert}.$$

    If `v` is `None`, or numerically parallel to `u` (the residual is below
    $\\sqrt{\\varepsilon}\\lVert v\\rVert$), the second row is zero: the span is a
    line. A zero `u` gives a zero first row.

    **Arguments:**

    - `u`: first vector, shape `(n,)`.
    - `v`: second vector, shape `(n,)`, or `None` for the line span(u).

    **Returns:**

    A pair `(basis, dim)`: `basis` of shape `(2, n)` with orthonormal (or zero)
    rows, and `dim`, the number of non-zero rows (0, 1 or 2) as a float scalar.
    """
    n = _check_vector("u", u)
    u = jnp.asarray(u)
    if not jnp.issubdtype(u.dtype, jnp.inexact):
        u = u.astype(jnp.result_type(float))
    tiny = jnp.finfo(u.dtype).tiny
    eps = jnp.finfo(u.dtype).eps
    q1, ok1 = _safe_normalise(u, tiny)
    if v is None:
        q2 = jnp.zeros_like(q1)
        ok2 = jnp.asarray(False)
    else:
        _check_vector("v", v, n)
        v = jnp.asarray(v, dtype=u.dtype)
        resid = v - jnp.dot(v, q1) * q1
        q2, ok2 = _safe_normalise(resid, jnp.maximum(eps * jnp.sum(v * v), tiny))
    dim = ok1.astype(u.dtype) + ok2.astype(u.dtype)
    return jnp.stack([q1, q2]), dim


def plane_overlap(
    u1: Float[ArrayLike, " n"],
    v1: Float[ArrayLike, " n"] | None,
    u2: Float[ArrayLike, " n"],
    v2: Float[ArrayLike, " n"] | None,
) -> Float[Array, ""]:
    """Overlap between the planes span(u1, v1) and span(u2, v2), in [0, 1].

    Each pair is first orthonormalised (Gram–Schmidt, see
    [`sleepjax.analysis.orthonormal_basis`][]), then, as in Susman et al. (2019),

    $$r_u = \\sqrt{(u_1\\cdot u_2)^2 + (u_1\\cdot v_2)^2},\\qquad
    r_v = \\sqrt{(v_1\\cdot u_2)^2 + (v_1\\cdot v_2)^2},$$

    and the overlap is normalised so that identical planes give 1:

    $$\\mathrm{overlap} = \\sqrt{\\frac{r_u^2 + r_v^2}{d}},\\qquad
    d = \\min(\\dim_1, \\dim_2),$$

    i.e. the Frobenius norm of $Q_1 Q_2^\\top$ divided by $\\sqrt d$. For two
    planes $d = 2$ (the paper's $\\sqrt{r_u^2 + r_v^2}$ divided by $\\sqrt 2$,
    whose maximum is $\\sqrt 2$). Orthogonal planes give 0, and the value is
    invariant to rotations and reflections within either plane and to the
    length of the vectors. It equals the root-mean-square cosine of the
    principal angles between the two subspaces. A line (`v=None`, or `v`
    parallel to `u`) has dimension 1, so a line lying in a plane gives 1.

    **Arguments:**

    - `u1`, `v1`: the first plane (`v1=None` for a line), shape `(n,)`.
    - `u2`, `v2`: the second plane (`v2=None` for a line), shape `(n,)`.

    **Returns:**

    The overlap, a scalar in [0, 1].
    """
    n = _check_vector("u1", u1)
    _check_vector("u2", u2, n)
    q1, d1 = orthonormal_basis(u1, v1)
    q2, d2 = orthonormal_basis(u2, v2)
    m = q1 @ q2.T
    d = jnp.maximum(jnp.minimum(d1, d2), 1.0)
    return jnp.sqrt(jnp.sum(m * m) / d)


def reduced_coordinates(
    x: Float[ArrayLike, "*batch n"],
    u: Float[ArrayLike, " n"],
    v: Float[ArrayLike, " n"],
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    """Reduced (per-neuron amplitude) coordinates of a network state in a memory plane.

    With $\\hat u = u/\\lVert u\\rVert$, $\\hat v = v/\\lVert v\\rVert$ and $N$ the
    number of neurons,

    $$p_u = \\frac{\\hat u^\\top x}{\\sqrt N},\\qquad
    p_v = \\frac{\\hat v^\\top x}{\\sqrt N}.$$

    This is SPEC's $p_u = u^\\top x/\\sqrt N$ for unit-norm $u$ (e.g. entries
    $\\pm 1/\\sqrt N$), made independent of the length of `u`. Equivalently,
    $p_u$ is the coefficient of $x$ along $\\sqrt N\\,\\hat u$, the vector of
    root-mean-square entry 1: for binary $u \\perp v$ with entries
    $\\pm 1/\\sqrt N$, a state $x = \\sqrt N (A\\hat u + B\\hat v)$ has
    $x_i = \\pm A \\pm B$ and $(p_u, p_v) = (A, B)$, the variables of the reduced
    limit-cycle system ([`sleepjax.analysis.reduced_limit_cycle_rhs`][]).
    Radii are therefore O(1) and comparable across $N$. The radius is
    $r = \\sqrt{p_u^2 + p_v^2}$.

    `u` and `v` are not orthogonalised: for non-orthogonal vectors these are
    projections, not expansion coefficients.

    **Arguments:**

    - `x`: network state(s), shape `(..., n)` (e.g. a saved trajectory `(t, n)`).
    - `u`, `v`: the memory vectors, shape `(n,)`; any non-zero length.

    **Returns:**

    `(p_u, p_v)`, each of shape `x.shape[:-1]`.
    """
    xs = jnp.shape(x)
    if len(xs) < 1:
        raise ValueError(f"`x` must have shape (..., n), got {xs}.")
    n = xs[-1]
    _check_vector("u", u, n)
    _check_vector("v", v, n)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    u = jnp.asarray(u, dtype=x.dtype)
    v = jnp.asarray(v, dtype=x.dtype)
    scale = jnp.sqrt(jnp.asarray(n, dtype=x.dtype))
    p_u = x @ u / (jnp.linalg.norm(u) * scale)
    p_v = x @ v / (jnp.linalg.norm(v) * scale)
    return p_u, p_v


def plane_block(
    W: Float[ArrayLike, "n n"],
    u: Float[ArrayLike, " n"],
    v: Float[ArrayLike, " n"],
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    """Rotation ρ and self-excitation γ of $W$ in the plane span(u, v).

    For unit $u \\perp v$,

    $$\\rho = \\tfrac12 (u^\\top W v - v^\\top W u),\\qquad
    \\gamma = \\tfrac12 (u^\\top W u + v^\\top W v),$$

    so $W = \\rho(uv^\\top - vu^\\top) + \\gamma(uu^\\top + vv^\\top) + R$ with $R$
    acting outside the plane gives back $(\\rho, \\gamma)$ exactly. In SPEC V4's
    reduced system the plane's linearised eigenvalues are $(\\gamma - 1) \\pm
    i\\rho$: ρ is the imaginary-coded memory, γ > 1 is needed for a limit cycle.
    Linear in $W$ (smooth, differentiable), no eigensolver; vmap over planes.
    """
    W = jnp.asarray(W)
    u, v = jnp.asarray(u, W.dtype), jnp.asarray(v, W.dtype)
    Wu, Wv = W @ u, W @ v
    return (u @ Wv - v @ Wu) / 2, (u @ Wu + v @ Wv) / 2
