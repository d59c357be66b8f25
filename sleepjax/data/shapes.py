r"""Procedural labelled shapes: a Shapes3D-like image set made on the fly.

Every image is one object on a wall above a floor, fixed by eight discrete
factors (levels in `FACTORS`):

| factor | levels | meaning |
|---|---|---|
| `shape` | 4 | square, triangle, pill (stadium), cross (`SHAPES`) |
| `object_hue`, `wall_hue`, `floor_hue` | 10 each | hue $h = k/10$ of each part |
| `scale` | 8 | half-size $s$ of the object, 0.18 … 0.30 of the image side |
| `orientation` | 15 | rotation $\theta$, −30° … 30° |
| `x`, `y` | 4 each | centre, x 0.46 … 0.54, y 0.50 … 0.58 of the side |

so there are $N = 4\cdot10^3\cdot8\cdot15\cdot4\cdot4 = 7\,680\,000$ distinct
images (the factor ranges keep every object inside the frame, and no shape
looks the same at two of its orientations: the range is 60° and the
shapes' symmetries are at least 120° (triangle), 180° (pill) or 90°).

As in Shapes3D, the object is large and near the middle of the floor: it
covers 14 % of the image on average (4–36 %; squares most, triangles
least), and its centre moves by at most ±0.04 of the side. (Smaller objects
anywhere in the frame, covering 6 % on average, left the shape nearly
unreadable from the pixels of a few hundred images: a linear read-out on
their first 50 principal components scored 0.31 against 0.54 now, chance
0.25.)

**Rendering.** Pixel centres $q \in [0, 1]^2$ ($y$ down). The wall fills
$y < 0.62$, the floor below, darkened towards the horizon. The object's
local coordinates are $p = R(-\theta)(q - c)/s$ and each shape is the zero
set of a distance-like function $d(p)$ (negative inside); its coverage of a
pixel of side $\delta$ is $\mathrm{clip}(1/2 - s\,d/\delta, 0, 1)$ (a one-pixel
anti-aliased edge). Values are RGB in $[0, 1]$, channels last:
`(n, size, size, 3)`.

**Palettes.** Colours are HSV $(h, S, V)$ with $(S, V)$ per part
(`PALETTES`):

| palette | object | wall | floor |
|---|---|---|---|
| `"muted"` (default) | 0.85, 0.95 | 0.45, 0.80 | 0.60, 0.60 |
| `"vivid"` | 0.85, 0.95 | 0.85, 0.80 | 0.85, 0.70 |

In `"muted"` the object is far more saturated than its background, so in
patterns $2x - 1$ an image's norm grows with the object's area (squares
have the largest). `"vivid"` saturates every surface alike, as Shapes3D's
walls, floors and objects are; its values still differ, so an object of its
wall's hue stays visible. Which one matters where the norm does: a dot-product
hippocampus replays large-norm images most (`ModernHopfieldMemory`).

**Splits without duplicates.** A seed fixes a pseudo-random bijection $\pi$
of $\{0, \dots, N-1\}$ (a 4-round Feistel network on 24 bits with cycle
walking). The splits are disjoint ranges of positions: `"train"` the first
half, `"validation"` the next quarter, `"test"` the last quarter; item $i$
of a split is the factor combination $\pi(\text{start} + i)$, decoded in mixed
radix. So no image appears twice in a split or in two splits of the same
seed, and any `n` items are drawn without replacement.

Everything is JAX (vectorised over images, traceable under `jit` and
`vmap`, so a protocol can build its data from its key).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

SHAPES = ("square", "triangle", "pill", "cross")
#: factor name -> number of levels (the mixed-radix digits, last = fastest)
FACTORS = {
    "shape": 4,
    "object_hue": 10,
    "wall_hue": 10,
    "floor_hue": 10,
    "scale": 8,
    "orientation": 15,
    "x": 4,
    "y": 4,
}
N_COMBINATIONS = math.prod(FACTORS.values())
SPLITS = {"train": (0.0, 0.5), "validation": (0.5, 0.75), "test": (0.75, 1.0)}
HORIZON = 0.62
_BITS = 24  # Feistel domain 2**24 >= N_COMBINATIONS
_HALF = _BITS // 2
_ROUNDS = 4
_SCALE = (0.18, 0.30)
_ANGLE = (-30.0, 30.0)
_X = (0.46, 0.54)
_Y = (0.50, 0.58)
#: palette name -> ((S, V) of the object, of the wall, of the floor)
PALETTES = {
    "muted": ((0.85, 0.95), (0.45, 0.80), (0.60, 0.60)),
    "vivid": ((0.85, 0.95), (0.85, 0.80), (0.85, 0.70)),
}

Labels = dict[str, Int[Array, " n"]]
Images = Float[Array, "n size size 3"]


# ------------------------------------------------------------ factor values
def _level(k, n: int, lo: float, hi: float):
    return lo + (hi - lo) * k / (n - 1)


def factor_values(labels: Labels) -> dict[str, Float[Array, " n"]]:
    """Physical values of the factors: hues in [0, 1), `scale` (half-size, in
    image sides), `orientation` (radians), `x`, `y` (image sides)."""
    f = {k: jnp.asarray(v) for k, v in labels.items()}
    return {
        "object_hue": f["object_hue"] / FACTORS["object_hue"],
        "wall_hue": f["wall_hue"] / FACTORS["wall_hue"],
        "floor_hue": f["floor_hue"] / FACTORS["floor_hue"],
        "scale": _level(f["scale"], FACTORS["scale"], *_SCALE),
        "orientation": jnp.deg2rad(
            _level(f["orientation"], FACTORS["orientation"], *_ANGLE)
        ),
        "x": _level(f["x"], FACTORS["x"], *_X),
        "y": _level(f["y"], FACTORS["y"], *_Y),
    }


def decode_index(index: Int[Array, " n"]) -> Labels:
    """Factor labels of combination indices in `[0, N_COMBINATIONS)` (mixed
    radix in the order of `FACTORS`, the last factor fastest)."""
    index = jnp.asarray(index, jnp.int32)
    out = {}
    for name, n in reversed(FACTORS.items()):
        out[name] = index % n
        index = index // n
    return {k: out[k] for k in FACTORS}


def encode_labels(labels: Labels) -> Int[Array, " n"]:
    """The combination index of factor labels (inverse of `decode_index`)."""
    index = jnp.zeros_like(jnp.asarray(labels["shape"], jnp.int32))
    for name, n in FACTORS.items():
        index = index * n + jnp.asarray(labels[name], jnp.int32)
    return index


# --------------------------------------------------------------- permutation
def _mix(x):
    """A 32-bit integer hash (lowbias32)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _feistel(x, round_keys):
    mask = jnp.uint32((1 << _HALF) - 1)
    left, right = x >> _HALF, x & mask
    for r in range(_ROUNDS):
        left, right = right, left ^ (_mix(right ^ round_keys[r]) & mask)
    return (left << _HALF) | right


def permute(key: PRNGKeyArray, position: Int[Array, " n"]) -> Int[Array, " n"]:
    r"""$\pi(\text{position})$: a bijection of $[0, N)$ fixed by `key` (Feistel
    network on $2^{24}$, cycle-walked into $[0, N)$)."""
    round_keys = jr.bits(key, (_ROUNDS,), jnp.uint32)
    x = jnp.asarray(position, jnp.uint32)

    def cond(y):
        return jnp.any(y >= N_COMBINATIONS)

    def body(y):
        return jnp.where(y >= N_COMBINATIONS, _feistel(y, round_keys), y)

    x = jax.lax.while_loop(cond, body, _feistel(x, round_keys))
    return x.astype(jnp.int32)


def split_labels(key: PRNGKeyArray, n: int, split: str = "train", start: int = 0):
    """Factor labels of items `start .. start + n - 1` of a split (see the module
    docs): distinct within and across the splits of one `key`."""
    return _split_labels(key, n, split, start)


@functools.partial(jax.jit, static_argnames=("n", "split", "start"))
def _split_labels(key, n: int, split: str, start: int):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}.")
    lo, hi = (int(round(f * N_COMBINATIONS)) for f in SPLITS[split])
    if not 0 <= start and start + n <= hi - lo:
        raise ValueError(
            f"split {split!r} holds {hi - lo} images; asked for {start}..{start + n}."
        )
    positions = lo + start + jnp.arange(n, dtype=jnp.int32)
    return decode_index(permute(key, positions))


# ----------------------------------------------------------------- rendering
def hsv_to_rgb(h, s, v) -> Float[Array, "... 3"]:
    """HSV (each in [0, 1]) to RGB in [0, 1], channels last."""
    h, s, v = (jnp.asarray(a)[..., None] for a in (h, s, v))
    k = (jnp.array([5.0, 3.0, 1.0]) + 6.0 * h) % 6.0
    return v - v * s * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)


def _box(px, py, hx, hy):
    return jnp.maximum(jnp.abs(px) - hx, jnp.abs(py) - hy)


def shape_distance(shape, px, py):
    r"""Distance-like function $d(p)$ of each shape in local units (negative
    inside; exact inside, a lower bound outside). Shapes of extent ~1:

    - square: $\max(|p_x|, |p_y|) - 1$;
    - triangle (equilateral, apex up, circumradius 1): $\max_k n_k\cdot p -
      1/2$ over its three outward normals;
    - pill: distance to the segment $[-1/2, 1/2]\times\{0\}$ minus 1/2;
    - cross: union of the bars $1\times 1/3$ and $1/3\times 1$ (half-widths).
    """
    sq = _box(px, py, 1.0, 1.0)
    # outward normals (y up): down, up-right, up-left; images have y down, so
    # the apex (up) is at local y = -1
    normals = [(math.cos(a), math.sin(a)) for a in np.deg2rad([-90.0, 30.0, 150.0])]
    tri = jnp.max(jnp.stack([nx * px - ny * py for nx, ny in normals]), 0) - 0.5
    pill = jnp.hypot(px - jnp.clip(px, -0.5, 0.5), py) - 0.5
    cross = jnp.minimum(_box(px, py, 1.0, 1 / 3), _box(px, py, 1 / 3, 1.0))
    return jnp.select([shape == 0, shape == 1, shape == 2], [sq, tri, pill], cross)


def _check_palette(palette: str) -> None:
    if palette not in PALETTES:
        raise ValueError(f"unknown palette {palette!r}; valid: {', '.join(PALETTES)}.")


def _render_one(values, shape, size: int, palette: str):
    """One image `(size, size, 3)` from its factor values."""
    (obj_s, obj_v), (wall_s, wall_v), (floor_s, floor_v) = PALETTES[palette]
    u = (jnp.arange(size) + 0.5) / size
    qx, qy = u[None, :], u[:, None]
    c, s = jnp.cos(values["orientation"]), jnp.sin(values["orientation"])
    dx, dy = qx - values["x"], qy - values["y"]
    px = (c * dx + s * dy) / values["scale"]
    py = (-s * dx + c * dy) / values["scale"]
    d = shape_distance(shape, px, py)
    cover = jnp.clip(0.5 - d * values["scale"] * size, 0.0, 1.0)[..., None]
    wall = hsv_to_rgb(values["wall_hue"], wall_s, wall_v)
    floor = hsv_to_rgb(values["floor_hue"], floor_s, floor_v)
    depth = jnp.clip((qy - HORIZON) / (1.0 - HORIZON), 0.0, 1.0)[..., None]
    below = (qy >= HORIZON)[..., None]
    back = jnp.where(below, floor * (0.75 + 0.25 * depth), wall)
    obj = hsv_to_rgb(values["object_hue"], obj_s, obj_v)
    return (1.0 - cover) * back + cover * obj


@functools.partial(jax.jit, static_argnames=("size", "batch_size", "palette"))
def render(
    labels: Labels, size: int = 32, batch_size: int = 1024, palette: str = "muted"
) -> Images:
    """Images `(n, size, size, 3)` of the factor labels (RGB in [0, 1]) in one
    of the `PALETTES`."""
    if size < 8:
        raise ValueError(f"`size` must be >= 8 pixels, got {size}.")
    _check_palette(palette)
    vals = factor_values(labels)
    shape = jnp.asarray(labels["shape"])
    batch = {**vals, "shape": shape}

    def one(b):
        return _render_one(
            {k: v for k, v in b.items() if k != "shape"}, b["shape"], size, palette
        )

    return jax.lax.map(one, batch, batch_size=batch_size)


def shapes(
    key: PRNGKeyArray | int,
    n: int,
    *,
    size: int = 32,
    split: str = "train",
    start: int = 0,
    palette: str = "muted",
) -> tuple[Images, Labels]:
    """`n` labelled images of one split: `(images, labels)` with images
    `(n, size, size, 3)` in [0, 1] and labels `{factor: int32 (n,)}` (levels
    in `FACTORS`; `labels["shape"]` indexes `SHAPES`). Deterministic in `key`
    (an int seed or a PRNG key); the same key never repeats an image within or
    across its splits (module docs). `palette` colours the parts
    (`PALETTES`); it changes no label."""
    _check_palette(palette)
    if isinstance(key, int):
        key = jr.key(key)
    labels = _split_labels(key, n, split, start)
    return render(labels, size, palette=palette), labels
