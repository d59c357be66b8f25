"""The two kinds of model the engine runs: continuous (SDE) and discrete (map).

- `AbstractSystem`: $dy = f(t, y)\\,dt + g(t, y)\\,dB_t$ over any state pytree,
  integrated by `simulate` (diffrax).
- `AbstractMap`: $y_{k+1} = F(t_k, y_k, \\text{key}_k)$ with
  $\\text{key}_k = \\text{fold\\_in}(\\text{key}, k)$, iterated by `iterate`
  (`lax.scan`).

Both return the same `Simulation`, so sweeps, fits, stores and plots need no
branch on the kind.

**Noise pytrees.** A system's noise is a pytree that mirrors its state: the
same structure, a `jax.ShapeDtypeStruct` at every leaf that receives Wiener
increments and `None` at (or above) every leaf that does not. `noise_shape`
gives it, `diffusion` gives the multipliers in the same structure. The
Brownian path keys each noisy leaf by its path in that pytree, so a leaf's
noise does not depend on which other leaves are noisy.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
from jaxtyping import Array, PRNGKeyArray, PyTree


def _is_none(x) -> bool:
    return x is None


def noise_leaves(noise) -> list:
    """The noisy leaves of a noise pytree (empty: no noise)."""
    return [] if noise is None else jtu.tree_leaves(noise)


class AbstractSystem(eqx.Module):
    r"""A continuous-time model: an Itô SDE over any state pytree `y`.

    $$dy = f(t, y)\,dt + \sum_\ell g_\ell(t, y)\,dB^\ell_t$$

    with one Wiener process per noisy leaf $\ell$ (elementwise multipliers
    $g_\ell$). Subclasses implement `drift`; noisy systems also implement
    `noise_shape` and `diffusion` (see the module docs for noise pytrees).
    `MultirateEuler` steps the leaves marked by `slow_mask` (weights) less
    often than the rest.
    """

    @abc.abstractmethod
    def drift(self, t, y: PyTree[Array]) -> PyTree[Array]:
        """$f(t, y)$: a pytree of time derivatives with the structure of `y`."""

    def noise_shape(self, y: PyTree[Array]) -> PyTree | None:
        """The noise pytree: `ShapeDtypeStruct` at noisy leaves, `None`
        elsewhere (the default: no noise at all)."""
        return None

    def diffusion(self, t, y: PyTree[Array], dt: float) -> PyTree:
        r"""Multipliers $g_\ell$ in the structure of `noise_shape(y)`. `dt` is
        the simulation's fine step (for per-step noise forms)."""
        raise ValueError(f"{type(self).__name__} has no noise.")

    def slow_mask(self, y: PyTree[Array]) -> PyTree[bool]:
        """A bool prefix of `y`: True for slowly varying leaves (weights),
        which `MultirateEuler` steps (or draws noise for) once per block.
        Default: none."""
        return jtu.tree_map(lambda _: False, y)

    def check_state(self, y: PyTree[Array]) -> None:
        """Raise ValueError if `y` is not a state of this system (default: no
        check)."""


def noise_product(scales, dB, y) -> PyTree[Array]:
    """Stochastic increment of the state: `scales * dB` at the noisy leaves,
    zeros elsewhere (the structure of `y`)."""

    def one(d, s, leaf):
        if d is None:
            return jtu.tree_map(jnp.zeros_like, leaf)
        return s * d

    return jtu.tree_map(one, dB, scales, y, is_leaf=_is_none)


def increment(scales, dB, factor: float | None = None):
    """`scales * dB` (or `(scales / factor) * dB`) at the noisy leaves of `dB`,
    `None` elsewhere."""

    def one(d, s):
        if d is None:
            return None
        return (s if factor is None else s / factor) * d

    return jtu.tree_map(one, dB, scales, is_leaf=_is_none)


def add_increment(y, inc):
    """`y + inc` at the leaves where `inc` is not `None`."""
    return jtu.tree_map(
        lambda i, leaf: leaf if i is None else leaf + i, inc, y, is_leaf=_is_none
    )


def split_noise(shape, mask):
    """(fast, slow) parts of a noise pytree by the bool prefix `mask` (True =
    slow); each keeps the structure, with `None` for the other part."""
    if shape is None:
        return None, None
    fast = jtu.tree_map(lambda m, s: None if m else s, mask, shape)
    slow = jtu.tree_map(lambda m, s: s if m else None, mask, shape)
    return fast, slow


class AbstractMap(eqx.Module):
    r"""A discrete-time model: $y_{k+1} = F(t_k, y_k, \text{key}_k)$.

    `iterate` applies `step` once per time step $\Delta t$ with
    $\text{key}_k = \text{fold\_in}(\text{key}, k)$ for the global step index
    $k$: every random draw (Bernoulli spikes, update orders, uniform noise)
    comes from that key, so runs are deterministic, independent of batching,
    and reverse-differentiable wherever `step` is.
    """

    @abc.abstractmethod
    def step(self, t, y: PyTree[Array], key: PRNGKeyArray) -> PyTree[Array]:
        """The state after one step from `y` at time `t`."""

    def check_state(self, y: PyTree[Array]) -> None:
        """Raise ValueError if `y` is not a state of this map (default: no
        check)."""


def check_like(name: str, ref, got) -> None:
    """Raise ValueError unless `got` has the structure and leaf shapes of `ref`
    (both pytrees of arrays or `ShapeDtypeStruct`s)."""
    ref = jax.eval_shape(lambda: ref)
    got = jax.eval_shape(lambda: got)
    if jtu.tree_structure(ref) != jtu.tree_structure(got):
        raise ValueError(
            f"{name} does not match the model's state structure; build it with "
            "the model's init(...)."
        )
    for a, b in zip(jtu.tree_leaves(ref), jtu.tree_leaves(got), strict=True):
        if a.shape != b.shape:
            raise ValueError(
                f"a leaf of {name} has shape {b.shape}, expected {a.shape}; build "
                "it with the model's init(...)."
            )
