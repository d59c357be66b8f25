"""The observables of a Susman run, saved along it and differentiable for fits."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._spec import AbstractObservables
from ...analysis import (
    eig,
    eigenplane,
    memory_eigenvalue_and_overlap,
    orthonormal_basis,
    plane_block,
    plane_overlap,
    reduced_coordinates,
)

SPECTRAL = ("mem_re", "mem_im", "mem_proj")
PER_PLANE = (*SPECTRAL, "plane_overlap", "p_u", "p_v", "plane_rho", "plane_gamma")
STATS = ("w_mean", "w_std", "rate_mean", "rate_std")

_UNITS = {
    "mem_re": (
        "Re λ of the memory eigenvalue",
        "1/τ",
        "real part of W's eigenvalue "
        "whose eigenvector projects most onto the memory plane",
    ),
    "mem_im": (
        "Im λ of the memory eigenvalue",
        "1/τ",
        "imaginary part (≥ 0) of "
        "the memory eigenvalue: the rotation of an imaginary-coded memory",
    ),
    "mem_proj": (
        "memory projection",
        "1",
        "projection of the memory eigenvector onto the plane (1: inside it)",
    ),
    "plane_overlap": (
        "eigenplane overlap",
        "1",
        "overlap of the memory eigenvector's real plane with span(u, v)",
    ),
    "p_u": ("p_u", "1", "reduced coordinate uᵀx/|u|·… along u"),
    "p_v": ("p_v", "1", "reduced coordinate along v"),
    "plane_rho": (
        "ρ in the plane",
        "1/τ",
        "(uᵀWv − vᵀWu)/2: rotation stored in the plane",
    ),
    "plane_gamma": (
        "γ in the plane",
        "1/τ",
        "(uᵀWu + vᵀWv)/2: self-excitation in the plane",
    ),
    "w_plane": (
        "W in the memory plane",
        "1/τ",
        "Q W Qᵀ with Q an orthonormal basis of the plane",
    ),
    "w_mean": ("mean weight", "1/τ", "mean of W"),
    "w_std": ("weight std", "1/τ", "standard deviation of W"),
    "rate_mean": ("mean rate", "1", "mean of φ = tanh(x)"),
    "rate_std": ("rate std", "1", "standard deviation of φ"),
}


def _safe_unit(x, threshold):
    sq = jnp.sum(x * x)
    ok = sq > threshold
    return jnp.where(ok, x / jnp.sqrt(jnp.where(ok, sq, 1.0)), 0.0)


def _memory(W, q, need_plane: bool):
    """Memory eigenvalue (Im ≥ 0), its projection onto the plane with basis rows
    `q`, and (optionally) the orthonormal basis of its eigenvector's real plane,
    all differentiable (`sleepjax.analysis.eig`)."""
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


class SusmanObservables(AbstractObservables):
    r"""Summaries saved along a run, for each memory plane (u_k, v_k).

    Returns a dict of arrays:

    - `mem_re`, `mem_im` `(p,)`: memory eigenvalue (largest eigenvector
      projection onto span(u_k, v_k); Im ≥ 0). For a real code, span(u).
    - `mem_proj` `(p,)`: that projection (1 = eigenvector inside the plane).
    - `p_u`, `p_v` `(p,)`: reduced coordinates (see
      `sleepjax.analysis.reduced_coordinates`).
    - `plane_rho`, `plane_gamma` `(p,)`: rotation ρ = (uᵀWv − vᵀWu)/2 and
      self-excitation γ = (uᵀWu + vᵀWv)/2 of W in the plane (see
      `sleepjax.analysis.plane_block`); the plane's linearised eigenvalues
      in SPEC V4 are (γ − 1) ± iρ. Cheap: no eigensolver.
    - `w_mean`, `w_std`, `rate_mean`, `rate_std`: scalars.
    - `plane_overlap` `(p,)` when `eigenplanes=True`: overlap of the memory
      eigenvector's real plane with span(u_k, v_k) (1 = same plane).

    `differentiable(names)` gives the same values computed with
    `sleepjax.analysis.eig` (eigenvectors differentiable), only for `names`;
    it can also give `w_plane` `(p, 2, 2)`, the weights restricted to each
    plane, $Q_k W Q_k^\top$ with $Q_k$ an orthonormal basis of the plane
    (linear in W, hence smooth: its antisymmetric part is the imaginary-coded
    memory, its symmetric part the real-coded one).

    **Fields:**

    - `planes`: memory planes, shape `(p, 2, n)`.
    - `real`: real-coded memory (projection onto span(u) only).
    - `eigenplanes`: also save `plane_overlap`.
    - `spectral`: save the eigenvalue observables (off for frozen weights).
    - `only`: `None` (save the above with `jnp.linalg.eig`) or the names to
      compute differentiably (set by `differentiable`).
    - `t_insert`: the time a memory is inserted (erosion), or `None`. The
      saved memory observables (`mem_*`, `plane_*`) are NaN at t ≤ t_insert:
      before the memory exists they would track an unrelated eigenvalue.
      (The differentiable version gives every time; restrict a loss with
      `t_min`.)
    """

    planes: Float[Array, "p 2 n"]
    real: bool = eqx.field(static=True, default=False)
    eigenplanes: bool = eqx.field(static=True, default=False)
    spectral: bool = eqx.field(static=True, default=True)
    only: tuple[str, ...] | None = eqx.field(static=True, default=None)
    t_insert: float | None = eqx.field(static=True, default=None)

    families: ClassVar = {
        "memory": ("mem_re", "mem_im"),
        "weights": ("w_mean", "w_std"),
        "rates": ("rate_mean", "rate_std"),
        "overlap": ("plane_overlap",),
        "coords": ("p_u", "p_v"),
        "plane": ("w_plane",),
        "block": ("plane_rho", "plane_gamma"),
    }
    default_fit: ClassVar = ("memory",)
    time_units: ClassVar = "τ (the neuronal time constant)"
    headline: ClassVar = ("mem_im", "mem_re", "w_std", "rate_mean")

    def applies(self, name: str) -> bool:
        """Whether `name` means something for this memory: `mem_im` (and the
        rotation ρ) does not for a real-coded memory."""
        return not (self.real and name in ("mem_im", "plane_rho"))

    units: ClassVar = _UNITS
    state_dims: ClassVar = {"W": ("post", "pre"), "neurons": ("neuron",)}
    state_units: ClassVar = {
        "W": (
            "synaptic weight W",
            "1/τ",
            "connectivity: W[i, j] is the weight from neuron j onto neuron i",
        ),
        "neurons": ("neuron input x", "1", "input variable x; the rate is tanh(x)"),
    }
    eigenvalue_marks: ClassVar = {"memory": ("mem_re", "mem_im")}

    def __check_init__(self):
        if self.only is not None:
            bad = [nm for nm in self.only if nm not in self.available()]
            if bad:
                raise ValueError(
                    f"observable(s) {bad} are not saved by this experiment (it "
                    f"saves {self.available()}); e.g. plane_overlap needs a "
                    "protocol with eigenplanes (learning, life_cycle)."
                )

    def _saved(self) -> tuple[str, ...]:
        names = ["p_u", "p_v", "plane_rho", "plane_gamma", *STATS]
        if self.spectral:
            names = [*SPECTRAL, *names]
            if self.eigenplanes:
                names.insert(3, "plane_overlap")
        return tuple(names)

    @property
    def names(self) -> tuple[str, ...]:
        return self._saved() if self.only is None else self.only

    def available(self) -> tuple[str, ...]:
        """What `differentiable` can give: the saved names and `w_plane`."""
        saved = list(self._saved())
        saved.insert(saved.index("p_v") + 1, "w_plane")
        return tuple(saved)

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        if name == "w_plane":
            return ("plane", "row", "col")[:ndim]
        if ndim == 1:
            return ("plane",)
        return super().dims(name, ndim)

    def differentiable(self, names=None) -> SusmanObservables:
        names = self.names if names is None else tuple(names)
        return SusmanObservables(
            self.planes,
            self.real,
            self.eigenplanes,
            self.spectral,
            only=names,
            t_insert=self.t_insert,
        )

    def __call__(self, t, y, model):
        if self.only is not None:
            return self._differentiable(y, model)
        W = y.W
        act = model.dynamics.activity(y.neurons)
        out = {}
        if self.spectral:
            re, im, proj, ov = [], [], [], []
            for k in range(self.planes.shape[0]):
                u, v = self.planes[k]
                me = memory_eigenvalue_and_overlap(W, u, None if self.real else v)
                re.append(jnp.real(me.eigenvalue))
                im.append(jnp.imag(me.eigenvalue))
                proj.append(me.overlap)
                if self.eigenplanes:
                    a, b = eigenplane(W, u, None if self.real else v)
                    ov.append(plane_overlap(a, b, u, v))
            out.update(
                mem_re=jnp.stack(re), mem_im=jnp.stack(im), mem_proj=jnp.stack(proj)
            )
            if self.eigenplanes:
                out["plane_overlap"] = jnp.stack(ov)
        pu, pv = jax.vmap(lambda pl: reduced_coordinates(act.x, pl[0], pl[1]))(
            self.planes
        )
        rho, gamma = jax.vmap(lambda pl: plane_block(W, pl[0], pl[1]))(self.planes)
        out.update(
            p_u=pu,
            p_v=pv,
            plane_rho=rho,
            plane_gamma=gamma,
            w_mean=jnp.mean(W),
            w_std=jnp.std(W),
            rate_mean=jnp.mean(act.phi),
            rate_std=jnp.std(act.phi),
        )
        if self.t_insert is not None:
            before = t <= self.t_insert
            for k in (*SPECTRAL, "plane_overlap", "plane_rho", "plane_gamma"):
                if k in out:
                    out[k] = jnp.where(before, jnp.nan, out[k])
        return out

    def _differentiable(self, y, model):
        names = self.only
        W = y.W
        act = model.dynamics.activity(y.neurons)
        out = {}
        need_spec = any(nm in names for nm in (*SPECTRAL, "plane_overlap"))
        if need_spec:
            need_plane = "plane_overlap" in names
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
            out.update({k: v for k, v in spec.items() if k in names})
        if "p_u" in names or "p_v" in names:
            pu, pv = jax.vmap(lambda pl: reduced_coordinates(act.x, pl[0], pl[1]))(
                self.planes
            )
            if "p_u" in names:
                out["p_u"] = pu
            if "p_v" in names:
                out["p_v"] = pv
        if "w_plane" in names:
            qs = jax.vmap(
                lambda pl: orthonormal_basis(pl[0], None if self.real else pl[1])[0]
            )(self.planes)
            out["w_plane"] = jnp.einsum("pai,ij,pbj->pab", qs, W, qs)
        if "plane_rho" in names or "plane_gamma" in names:
            rho, gamma = jax.vmap(lambda pl: plane_block(W, pl[0], pl[1]))(self.planes)
            if "plane_rho" in names:
                out["plane_rho"] = rho
            if "plane_gamma" in names:
                out["plane_gamma"] = gamma
        stats = {
            "w_mean": lambda: jnp.mean(W),
            "w_std": lambda: jnp.std(W),
            "rate_mean": lambda: jnp.mean(act.phi),
            "rate_std": lambda: jnp.std(act.phi),
        }
        for nm, fn in stats.items():
            if nm in names:
                out[nm] = fn()
        return out
