r"""Corrupted versions of images: dropped elements, occluded halves, tiles.

Images are `(..., H, W, C)` arrays (channels last). Every function is JAX,
vectorised, traceable under `jit`/`vmap`; random ones take a PRNG key and
their fraction may be traced.

- `drop_elements`: a fraction $f$ of all elements (pixels × channels), chosen
  without replacement, set to `value` (Spens & Burgess's "noise": exactly
  $\lfloor f\,HWC\rfloor$ elements of each image, value 0).
- `occlude`: the last fraction of columns (side "right") or rows ("bottom")
  set to `value` (a contiguous occluder; 0.5 hides half the image).
- `occlude_tiles`: tiles of side $t$ (a square grid anchored at the top-left
  corner), each hidden with probability $r$ (Deperrois et al.'s `Occlude`,
  drawn per image).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

Images = Float[Array, "*batch H W C"]


def drop_elements(key: PRNGKeyArray, images: Images, fraction, value=0.0) -> Images:
    """Each image with exactly `floor(fraction · H·W·C)` elements, chosen
    without replacement (independently per image), set to `value`."""
    images = jnp.asarray(images)
    shape = images.shape[-3:]
    flat = images.reshape(-1, shape[0] * shape[1] * shape[2])
    n = flat.shape[1]
    keys = jr.split(key, flat.shape[0])
    count = jnp.floor(jnp.asarray(fraction, images.dtype) * n)

    def one(k, x):
        rank = jnp.argsort(jr.uniform(k, (n,)))  # a random permutation
        return jnp.where(rank < count, jnp.asarray(value, x.dtype), x)

    return jax.vmap(one)(keys, flat).reshape(images.shape)


def occlusion_mask(h: int, w: int, fraction, side: str = "right"):
    """`(H, W, 1)` mask, 0 on the last `fraction` of the columns (`side`
    "right") or rows ("bottom"), 1 elsewhere."""
    if side == "right":
        hidden = jnp.arange(w)[None, :] >= jnp.round((1.0 - fraction) * w)
        hidden = jnp.broadcast_to(hidden, (h, w))
    elif side == "bottom":
        hidden = jnp.arange(h)[:, None] >= jnp.round((1.0 - fraction) * h)
        hidden = jnp.broadcast_to(hidden, (h, w))
    else:
        raise ValueError(f"`side` must be 'right' or 'bottom', got {side!r}.")
    return (~hidden)[..., None]


def occlude(images: Images, fraction=0.5, side: str = "right", value=0.0) -> Images:
    """Images with the last `fraction` of columns (or rows) set to `value`."""
    images = jnp.asarray(images)
    h, w = images.shape[-3:-1]
    keep = occlusion_mask(h, w, fraction, side)
    return jnp.where(keep, images, jnp.asarray(value, images.dtype))


def occlude_tiles(key: PRNGKeyArray, images: Images, rate, tile, value=0.0) -> Images:
    """Per image, each `tile`×`tile` square of a grid from the top-left corner
    is set to `value` with probability `rate` (`rate` and `tile` may be traced;
    `tile` ≥ 1)."""
    images = jnp.asarray(images)
    h, w = images.shape[-3:-1]
    flat = images.reshape(-1, h, w, images.shape[-1])
    keys = jr.split(key, flat.shape[0])
    tile = jnp.maximum(jnp.asarray(tile, jnp.int32), 1)
    rows = jnp.arange(h) // tile
    cols = jnp.arange(w) // tile

    def one(k, x):
        drop = jr.uniform(k, (h, w)) < rate  # one draw per tile (indexed below)
        hidden = drop[rows[:, None], cols[None, :]]
        return jnp.where(hidden[..., None], jnp.asarray(value, x.dtype), x)

    return jax.vmap(one)(keys, flat).reshape(images.shape)
