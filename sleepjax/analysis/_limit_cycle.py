"""The reduced two-dimensional limit-cycle system of Susman et al. (2019) (SPEC V4)
and estimators of a cycle's radius and angular frequency from a trajectory."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float


def reduced_limit_cycle_rhs(
    A: Float[ArrayLike, "*batch"],
    B: Float[ArrayLike, "*batch"],
    rho: Float[ArrayLike, "*batch"],
    gamma: Float[ArrayLike, "*batch"],
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    """Right-hand side of the reduced limit-cycle system (SPEC V4).

    For $\\dot x = -x + W\\tanh(x)$ with
    $W = \\rho(uv^\\top - vu^\\top) + \\gamma(uu^\\top + vv^\\top)$, $u \\perp v$
    binary with entries $\\pm 1/\\sqrt N$ and balanced signs (each of the four
    sign quadrants holds $N/4$ neurons), the plane
    $x = \\sqrt N (A u + B v)$, i.e. $x_i = \\pm A \\pm B$, is invariant. In the
    reduced coordinates $(A, B) = (p_u, p_v)$ of
    [`sleepjax.analysis.reduced_coordinates`][] and with
    $T_\\pm = \\tanh(A \\pm B)$:

    $$\\dot A = -A + \\tfrac12\\left[\\gamma(T_+ + T_-) + \\rho(T_+ - T_-)\\right],$$
    $$\\dot B = -B + \\tfrac12\\left[\\gamma(T_+ - T_-) - \\rho(T_+ + T_-)\\right].$$

    (Derivation: $u^\\top\\tanh(x)/\\sqrt N = \\tfrac12(T_+ + T_-)$ and
    $v^\\top\\tanh(x)/\\sqrt N = \\tfrac12(T_+ - T_-)$ by summing over the four
    quadrants, and $u^\\top W = \\gamma u^\\top + \\rho v^\\top$,
    $v^\\top W = \\gamma v^\\top - \\rho u^\\top$.)

    The origin is stable for $\\gamma < 1$, see
    [`sleepjax.analysis.linearised_eigenvalues`][]; for $\\gamma > 1$ there is
    a limit cycle, traversed clockwise in the $(A, B)$ plane when $\\rho > 0$.
    All arguments broadcast; time is in units of the neuronal time constant.

    **Arguments:**

    - `A`, `B`: the reduced coordinates (dimensionless).
    - `rho`: rotational (imaginary-coded) memory strength $\\rho$.
    - `gamma`: self-excitation (real-coded) strength $\\gamma$.

    **Returns:**

    `(dA/dt, dB/dt)`.
    """
    A = jnp.asarray(A)
    B = jnp.asarray(B)
    t_plus = jnp.tanh(A + B)
    t_minus = jnp.tanh(A - B)
    s = t_plus + t_minus
    d = t_plus - t_minus
    dA = -A + 0.5 * (gamma * s + rho * d)
    dB = -B + 0.5 * (gamma * d - rho * s)
    return dA, dB


def linearised_eigenvalues(
    rho: Float[ArrayLike, "*batch"], gamma: Float[ArrayLike, "*batch"]
) -> Complex[Array, "*batch 2"]:
    """Eigenvalues of the reduced system linearised at the origin.

    Near 0, $T_+ + T_- \\approx 2A$ and $T_+ - T_- \\approx 2B$, so

    $$\\frac{d}{dt}\\begin{pmatrix}A\\\\B\\end{pmatrix} =
    \\begin{pmatrix}\\gamma - 1 & \\rho\\\\ -\\rho & \\gamma - 1\\end{pmatrix}
    \\begin{pmatrix}A\\\\B\\end{pmatrix},\\qquad
    \\lambda_\\pm = (\\gamma - 1) \\pm i\\rho .$$

    A Hopf bifurcation at $\\gamma = 1$ with onset angular frequency $\\rho$.

    **Arguments:**

    - `rho`: rotational memory strength $\\rho$.
    - `gamma`: self-excitation strength $\\gamma$.

    **Returns:**

    `[(γ-1) + iρ, (γ-1) - iρ]` along a new last axis.
    """
    rho, gamma = jnp.broadcast_arrays(jnp.asarray(rho), jnp.asarray(gamma))
    re = gamma - 1
    lam = re + 1j * rho
    return jnp.stack([lam, jnp.conj(lam)], axis=-1)


def limit_cycle_stats(
    pu: Float[ArrayLike, " t"],
    pv: Float[ArrayLike, " t"],
    ts: Float[ArrayLike, " t"],
    tail_fraction: float = 0.5,
    whole_cycles: bool = True,
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    """Radius and angular frequency of a (limit-cycle) trajectory in a memory plane.

    Only the last `tail_fraction` of the samples is used (discarding the
    transient). With $r = \\sqrt{p_u^2 + p_v^2}$ and the unwrapped phase
    $\\theta = \\operatorname{atan2}(p_v, p_u)$, over a window $[t_s, t_e]$,

    $$\\bar r = \\frac{1}{t_e - t_s}\\int_{t_s}^{t_e} r\\,dt,\\qquad
    \\omega = \\frac{\\theta(t_e) - \\theta(t_s)}{t_e - t_s},$$

    the time-averaged radius and the mean phase velocity (trapezoidal rule,
    so non-uniform save times are fine).

    A cycle is generally not a circle traversed at constant speed, so a window
    holding a fractional number of turns biases both numbers by O(period /
    window). With `whole_cycles=True` (default) the window is shortened to
    the largest whole number $k \\ge 1$ of turns inside the tail, ending at
    the last sample: $t_s$ is where $\\theta$ crosses
    $\\theta(t_e) \\mp 2\\pi k$ (linearly interpolated), so
    $\\omega = \\pm 2\\pi k/(t_e - t_s)$ is exact up to the sampling. If the
    tail holds less than one turn (e.g. a decaying trajectory), the whole
    tail is used.

    $\\omega$ is signed, positive for counter-clockwise rotation in the
    $(p_u, p_v)$ plane: the SPEC V4 cycle with $\\rho > 0$ turns clockwise
    and gives $\\omega \\approx -0.636$ at $(\\rho, \\gamma) = (1, 1.5)$; use
    `abs` for the frequency. Unwrapping needs less than half a turn between
    consecutive samples. For a decaying trajectory the radius tends to 0 and
    $\\omega$ to the linear value $-\\rho$.

    **Arguments:**

    - `pu`, `pv`: reduced coordinates over time, shape `(t,)` (e.g. from
      [`sleepjax.analysis.reduced_coordinates`][]).
    - `ts`: the increasing sample times, shape `(t,)`.
    - `tail_fraction`: fraction of the samples (at the end) to use, a Python
      float in (0, 1]; at least two samples are always used.
    - `whole_cycles`: restrict the window to a whole number of turns.

    **Returns:**

    `(radius, angular_frequency)`, two scalars.
    """
    if not isinstance(tail_fraction, int | float) or not 0 < tail_fraction <= 1:
        raise ValueError(
            f"`tail_fraction` must be a Python float in (0, 1], got {tail_fraction!r}."
        )
    shapes = {jnp.shape(pu), jnp.shape(pv), jnp.shape(ts)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(
            "`pu`, `pv` and `ts` must be 1-D arrays of the same length, got shapes "
            f"{jnp.shape(pu)}, {jnp.shape(pv)}, {jnp.shape(ts)}; "
            "use jax.vmap for a batch of trajectories."
        )
    n = jnp.shape(ts)[0]
    if n < 2:
        raise ValueError(f"need at least 2 samples, got {n}.")
    start = min(int(n * (1 - tail_fraction)), n - 2)
    pu = jnp.asarray(pu)[start:]
    pv = jnp.asarray(pv)[start:]
    ts = jnp.asarray(ts)[start:]
    r = jnp.hypot(pu, pv)
    theta = jnp.unwrap(jnp.arctan2(pv, pu))
    if not whole_cycles:
        duration = ts[-1] - ts[0]
        return jnp.trapezoid(r, ts) / duration, (theta[-1] - theta[0]) / duration

    # Signed phase advance measured backwards from the end: 0 at t_e.
    turn = 2 * jnp.pi
    delta = theta[-1] - theta[0]
    sign = jnp.where(delta >= 0, 1.0, -1.0)
    k = jnp.floor(jnp.abs(delta) / turn)
    back = sign * (theta[-1] - theta)  # >= k·2π at t_s, 0 at t_e
    # j: first sample at which fewer than k turns remain; t_s lies in [t_j-1, t_j].
    inside = back < k * turn
    j = jnp.argmax(inside)
    j_prev = jnp.maximum(j - 1, 0)
    b0, b1 = back[j_prev], back[j]
    frac = jnp.where(b0 > b1, (b0 - k * turn) / jnp.where(b0 > b1, b0 - b1, 1.0), 0.0)
    frac = jnp.where(k > 0, jnp.clip(frac, 0.0, 1.0), 0.0)
    t_s = ts[j_prev] + frac * (ts[j] - ts[j_prev])
    r_s = r[j_prev] + frac * (r[j] - r[j_prev])
    # Trapezoid over whole segments from j on, plus the partial one [t_s, t_j].
    seg = 0.5 * (r[1:] + r[:-1]) * jnp.diff(ts)
    idx = jnp.arange(n - start - 1)
    integral = jnp.sum(jnp.where(idx >= j, seg, 0.0))
    integral = integral + jnp.where(k > 0, 0.5 * (r_s + r[j]) * (ts[j] - t_s), 0.0)
    t_s = jnp.where(k > 0, t_s, ts[0])
    integral = jnp.where(k > 0, integral, jnp.trapezoid(r, ts))
    duration = ts[-1] - t_s
    omega = jnp.where(k > 0, sign * k * turn, delta) / duration
    return integral / duration, omega
