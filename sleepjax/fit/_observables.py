"""Differentiable observables of a Susman-type run, and the named target families."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..analysis import (
    orthonormal_basis,
    plane_block,
    plane_overlap,
    reduced_coordinates,
)
from ._eig import eig

#: Named families of observables, usable wherever a loss takes observable names.
FAMILIES: dict[str, tuple[str, ...]] = {
    "memory": ("mem_re", "mem_im"),
    "weights": ("w_mean", "w_std"),
    "rates": ("rate_mean", "rate_std"),
    "overlap": ("plane_overlap",),
    "coords": ("p_u", "p_v"),
    "plane": ("w_plane",),
    "block": ("plane_rho", "plane_gamma"),
}

SPECTRAL = ("mem_re", "mem_im", "mem_proj")
ALL_NAMES = (*SPECTRAL, "plane_overlap", "p_u", "p_v", "w_plane") + (
    "plane_rho",
    "plane_gamma",
    "w_mean",
    "w_std",
    "rate_mean",
    "rate_std",
)


def expand_names(names) -> tuple[str, ...]:
    """Expand family names ("memory", "weights", ...) into observable names."""
    if isinstance(names, str):
        names = (names,)
    out: list[str] = []
    for nm in names:
        for x in FAMILIES.get(nm, (nm,)):
            if x not in out:
                out.append(x)
    return tuple(out)


def _safe_unit(x, threshold):
    sq = jnp.sum(x * x)
    ok = sq > threshold
    return jnp.where(ok, x / jnp.sqrt(jnp.where(ok, sq, 1.0)), 0.0)


def _memory(W, q, need_plane: bool):
    """Memory eigenvalue (Im ≥ 0), its projection onto the plane with basis rows
    `q`, and (optionally) the orthonormal basis of its eigenvector's real plane."""
    lam, R = eig(W)
    norms2 = jnp.sum(jnp.abs(R) ** 2, axis=0)
    proj = jnp.sum(jnp.abs(q.astype(R.dtype) @ R) ** 2, axis=0) / norms2
    k = jnp.argmax(jax.lax.stop_gradient(proj))
    lam_k = lam[k]
    re, im = jnp.real(lam_k), jnp.abs(jnp.imag(lam_k))
    if not need_plane:
        return re, im, proj[k], None
    e = R[:, k]
    z = jnp.sum(e * e)
    # Fix the arbitrary phase (a ⟂ b); z = 0 only for exactly circular vectors.
    ang = jnp.angle(jnp.where(jnp.abs(z) > 0, z, 1.0))
    e = e * jnp.exp(-0.5j * ang)
    a, b = jnp.real(e), jnp.imag(e)
    tiny = jnp.finfo(a.dtype).tiny
    eps = jnp.finfo(a.dtype).eps
    qa = _safe_unit(a, tiny)
    b = b - jnp.dot(b, qa) * qa
    qb = _safe_unit(b, jnp.maximum(eps * jnp.sum(a * a), tiny))
    return re, im, proj[k], (qa, qb)


class FitObservables(eqx.Module):
    """Differentiable version of `SusmanObservables` (same names, same values).

    `SusmanObservables` finds the memory eigenvalue with `jnp.linalg.eig`,
    whose eigenvectors JAX does not differentiate; this computes the same values
    with `sleepjax.fit.eig` (eigenvalues and eigenvectors differentiable), and
    only the observables in `names` (the spectral ones cost one `eig` per save).

    **Fields:**

    - `planes`: memory planes, shape `(p, 2, n)`.
    - `real`: real-coded memory (projection onto span(u) only).
    - `names`: the observables to compute (subset of `ALL_NAMES`).

    Returns a dict `name -> array` at each save time: `mem_re`, `mem_im`,
    `mem_proj`, `plane_overlap`, `p_u`, `p_v` of shape `(p,)`; `w_plane` of
    shape `(p, 2, 2)`, the weights restricted to each memory plane,
    $Q_k W Q_k^\top$ with $Q_k$ an orthonormal basis of span(u_k, v_k) (linear
    in W, hence smooth: its antisymmetric part is the imaginary-coded memory,
    its symmetric part the real-coded one); `plane_rho`, `plane_gamma` of shape
    `(p,)` (`sleepjax.analysis.plane_block`); `w_mean`, `w_std`, `rate_mean`,
    `rate_std` scalars.
    """

    planes: Float[Array, "p 2 n"]
    real: bool = eqx.field(static=True, default=False)
    names: tuple[str, ...] = eqx.field(static=True, default=ALL_NAMES)

    def __check_init__(self):
        bad = [nm for nm in self.names if nm not in ALL_NAMES]
        if bad:
            raise ValueError(
                f"FitObservables: unknown observable(s) {bad}; valid: {ALL_NAMES}."
            )

    def __call__(self, t, y, model):
        W = y.W
        act = model.dynamics.activity(y.neurons)
        out = {}
        need_spec = any(nm in self.names for nm in (*SPECTRAL, "plane_overlap"))
        if need_spec:
            need_plane = "plane_overlap" in self.names
            re, im, pr, ov = [], [], [], []
            for k in range(self.planes.shape[0]):
                u, v = self.planes[k]
                q, _ = orthonormal_basis(u, None if self.real else v)
                r, i, p, ab = _memory(W, q, need_plane)
                re.append(r)
                im.append(i)
                pr.append(p)
                if need_plane:
                    ov.append(plane_overlap(ab[0], ab[1], u, None if self.real else v))
            spec = {
                "mem_re": jnp.stack(re),
                "mem_im": jnp.stack(im),
                "mem_proj": jnp.stack(pr),
            }
            if need_plane:
                spec["plane_overlap"] = jnp.stack(ov)
            out.update({k: v for k, v in spec.items() if k in self.names})
        if "p_u" in self.names or "p_v" in self.names:
            pu, pv = jax.vmap(lambda pl: reduced_coordinates(act.x, pl[0], pl[1]))(
                self.planes
            )
            if "p_u" in self.names:
                out["p_u"] = pu
            if "p_v" in self.names:
                out["p_v"] = pv
        if "w_plane" in self.names:
            qs = jax.vmap(
                lambda pl: orthonormal_basis(pl[0], None if self.real else pl[1])[0]
            )(self.planes)
            out["w_plane"] = jnp.einsum("pai,ij,pbj->pab", qs, W, qs)
        if "plane_rho" in self.names or "plane_gamma" in self.names:
            rho, gamma = jax.vmap(lambda pl: plane_block(W, pl[0], pl[1]))(self.planes)
            if "plane_rho" in self.names:
                out["plane_rho"] = rho
            if "plane_gamma" in self.names:
                out["plane_gamma"] = gamma
        stats = {
            "w_mean": lambda: jnp.mean(W),
            "w_std": lambda: jnp.std(W),
            "rate_mean": lambda: jnp.mean(act.phi),
            "rate_std": lambda: jnp.std(act.phi),
        }
        for nm, fn in stats.items():
            if nm in self.names:
                out[nm] = fn()
        return out


def available_names(observe) -> tuple[str, ...] | None:
    """The observable names an `observe` callable gives, if known statically."""
    from ..models.susman import SusmanObservables

    if isinstance(observe, FitObservables):
        return observe.names
    if isinstance(observe, SusmanObservables):
        names = ["p_u", "p_v", "w_plane", "plane_rho", "plane_gamma"]
        names += ["w_mean", "w_std", "rate_mean", "rate_std"]
        if observe.spectral:
            names = [*SPECTRAL, *names]
            if observe.eigenplanes:
                names.insert(3, "plane_overlap")
        return tuple(names)
    return None


def differentiable(observe, names=None):
    """A differentiable replacement for an Experiment's `observe`.

    `SusmanObservables` becomes a `FitObservables` computing `names` (default:
    what the original gives); `FitObservables` is restricted to `names`. Any
    other callable is returned unchanged (it must be differentiable itself), as
    a `dict`-valued `(t, state, model)` function.
    """
    from ..models.susman import SusmanObservables

    if isinstance(observe, SusmanObservables | FitObservables):
        avail = available_names(observe)
        names = avail if names is None else tuple(names)
        missing = [nm for nm in names if nm not in avail]
        if missing:
            raise ValueError(
                f"observable(s) {missing} are not saved by this experiment "
                f"(it saves {avail}); e.g. plane_overlap needs a protocol with "
                "eigenplanes (learning, life_cycle)."
            )
        return FitObservables(observe.planes, real=observe.real, names=tuple(names))
    return observe
