"""The procedural shapes data (`sleepjax.data.shapes`) and image corruptions.

- Deterministic: the same seed gives bitwise the same images and labels.
- Labels are correct: each shape class is drawn at a known place, size and
  orientation, and its pixels are checked against an independent NumPy
  geometry of the shape (polygon vertices, a segment, two bars): pixels whose
  3×3 neighbourhood of sub-pixel points lies wholly inside have exactly the
  object's colour, wholly outside exactly the background's.
- No duplicates: no image repeats within or across the train / validation /
  test splits of one seed (the permutation is a bijection: checked on 2·10⁵
  positions).
"""

from __future__ import annotations

import colorsys
import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sleepjax.data import corrupt
from sleepjax.data.shapes import (
    FACTORS,
    HORIZON,
    N_COMBINATIONS,
    SHAPES,
    decode_index,
    encode_labels,
    permute,
    render,
    shapes,
)


# ---------------------------------------------- independent NumPy geometry
def np_inside(shape: str, px, py):
    """Membership of local points (units of the half-size, y down)."""
    if shape == "square":
        return (np.abs(px) <= 1) & (np.abs(py) <= 1)
    if shape == "triangle":  # vertices: apex up (0, -1), base corners
        v = [(0.0, -1.0), (math.sqrt(3) / 2, 0.5), (-math.sqrt(3) / 2, 0.5)]
        sign = []
        for (ax, ay), (bx, by) in zip(v, v[1:] + v[:1], strict=True):
            sign.append((bx - ax) * (py - ay) - (by - ay) * (px - ax))
        return (sign[0] >= 0) & (sign[1] >= 0) & (sign[2] >= 0)
    if shape == "pill":
        cx = np.clip(px, -0.5, 0.5)
        return (px - cx) ** 2 + py**2 <= 0.25
    if shape == "cross":
        bar1 = (np.abs(px) <= 1) & (np.abs(py) <= 1 / 3)
        bar2 = (np.abs(px) <= 1 / 3) & (np.abs(py) <= 1)
        return bar1 | bar2
    raise ValueError(shape)


def hsv(h, s, v):
    return np.array(colorsys.hsv_to_rgb(h, s, v))


#: (S, V) of object, wall and floor per palette (the module's table)
PALETTE_SV = {
    "muted": ((0.85, 0.95), (0.45, 0.80), (0.60, 0.60)),
    "vivid": ((0.85, 0.95), (0.85, 0.80), (0.85, 0.70)),
}


@pytest.mark.parametrize(
    ("size", "palette"), [(32, "muted"), (64, "muted"), (32, "vivid")]
)
@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_each_class_is_drawn_where_its_label_says(shape, size, palette):
    lab = dict(
        shape=shape, object_hue=3, wall_hue=7, floor_hue=1, scale=7, orientation=7
    )
    lab.update(x=1, y=1)  # centre (0.4867, 0.5267), half-size 0.3, angle 0
    labels = {k: jnp.array([v]) for k, v in lab.items()}
    img = np.asarray(render(labels, size, palette=palette))[0]
    cx = 0.46 + 0.08 * 1 / 3
    cy = 0.50 + 0.08 * 1 / 3
    s = 0.30
    px_size = 1.0 / size
    u = (np.arange(size) + 0.5) / size
    qx, qy = np.meshgrid(u, u)
    offsets = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
    ins = np.stack(
        [
            np_inside(
                SHAPES[shape], (qx + a * px_size - cx) / s, (qy + b * px_size - cy) / s
            )
            for a, b in offsets
        ]
    )
    inner, outer = ins.all(0), (~ins).all(0)
    (obj_sv, wall_sv, floor_sv) = PALETTE_SV[palette]
    obj = hsv(0.3, *obj_sv)
    wall = hsv(0.7, *wall_sv)
    floor = hsv(0.1, *floor_sv)
    depth = np.clip((qy - HORIZON) / (1 - HORIZON), 0, 1)[..., None]
    back = np.where((qy >= HORIZON)[..., None], floor * (0.75 + 0.25 * depth), wall)
    area = {"square": 4.0, "triangle": 3 * math.sqrt(3) / 4, "pill": 1 + math.pi / 4}
    area_px = area.get(SHAPES[shape], 20 / 9) * (s * size) ** 2
    assert inner.sum() > 0.3 * area_px  # the checked interior is most of the shape
    np.testing.assert_allclose(
        img[inner], np.broadcast_to(obj, img[inner].shape), atol=1e-5
    )
    np.testing.assert_allclose(img[outer], back[outer], atol=1e-5)
    # the other classes at the same place differ on this class's pixels
    for other in range(len(SHAPES)):
        if other != shape:
            o = dict(labels, shape=jnp.array([other]))
            other_img = np.asarray(render(o, size, palette=palette))[0]
            assert np.abs(other_img - img).max() > 0.5


def test_palette_changes_colours_not_labels():
    """A palette recolours the same items (labels equal); an unknown one is
    refused by name. In patterns 2x − 1 the muted palette's norm grows with the
    object's area (squares largest, triangles smallest: a gap of more than one
    standard deviation of the norms), the vivid one's hardly (under 0.6)."""
    a, la = shapes(7, 400, size=32)
    b, lb = shapes(7, 400, size=32, palette="vivid")
    for k in FACTORS:
        np.testing.assert_array_equal(np.asarray(la[k]), np.asarray(lb[k]))
    assert np.abs(np.asarray(a) - np.asarray(b)).max() > 0.3
    y = np.asarray(la["shape"])
    for x, lo, hi in ((a, 1.0, np.inf), (b, 0.0, 0.6)):
        norm = np.linalg.norm(
            (2 * np.asarray(x, float) - 1).reshape(len(y), -1), axis=1
        )
        gap = norm[y == 0].mean() - norm[y == 1].mean()  # square - triangle
        assert lo < gap / norm.std() < hi
    with pytest.raises(ValueError, match="unknown palette 'pastel'; valid: muted"):
        shapes(7, 4, palette="pastel")


def test_deterministic_in_the_seed_and_in_range():
    a, la = shapes(3, 64, size=32)
    b, lb = shapes(jr.key(3), 64, size=32)
    c, _ = shapes(4, 64, size=32)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for k in FACTORS:
        np.testing.assert_array_equal(np.asarray(la[k]), np.asarray(lb[k]))
        assert 0 <= int(la[k].min()) and int(la[k].max()) < FACTORS[k]
    assert np.abs(np.asarray(a) - np.asarray(c)).max() > 0.5
    assert a.shape == (64, 32, 32, 3) and a.dtype == jnp.float32
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    x64, _ = shapes(3, 4, size=64)
    assert x64.shape == (4, 64, 64, 3)


def test_labels_round_trip_and_permutation_is_a_bijection():
    idx = jnp.arange(0, N_COMBINATIONS, 9973)
    np.testing.assert_array_equal(np.asarray(encode_labels(decode_index(idx))), idx)
    p = np.asarray(permute(jr.key(0), jnp.arange(200_000)))
    assert len(np.unique(p)) == p.size and p.min() >= 0 and p.max() < N_COMBINATIONS


def test_no_duplicate_images_within_or_across_splits():
    n = 600
    sets = [shapes(5, n, size=32, split=s) for s in ("train", "validation", "test")]
    labels = np.concatenate([np.asarray(encode_labels(lab)) for _, lab in sets])
    assert len(np.unique(labels)) == 3 * n  # distinct factor combinations
    imgs = np.concatenate([np.asarray(x).reshape(n, -1) for x, _ in sets])
    # distinct combinations give distinct images: no two rows equal
    rounded = np.round(imgs * 4096).astype(np.int32)
    assert len(np.unique(rounded, axis=0)) == 3 * n
    # the splits are balanced in the shape label
    counts = np.bincount(np.asarray(sets[0][1]["shape"]), minlength=4)
    assert counts.min() > n / 4 - 4 * math.sqrt(n * 3 / 16)


def test_corruptions():
    x, _ = shapes(0, 8, size=32)
    d = corrupt.drop_elements(jr.key(1), x, 0.25, value=-7.0)
    assert np.all(np.sum(np.asarray(d) == -7.0, axis=(1, 2, 3)) == 32 * 32 * 3 // 4)
    o = np.asarray(corrupt.occlude(x, 0.5))
    assert np.all(o[:, :, 16:] == 0) and np.array_equal(
        o[:, :, :16], np.asarray(x)[:, :, :16]
    )
    t = np.asarray(corrupt.occlude_tiles(jr.key(2), x, 1.0, 4))
    assert np.all(t == 0)
    t = np.asarray(corrupt.occlude_tiles(jr.key(2), x, 0.5, 4))
    hidden = np.all(t == 0, axis=-1)
    blocks = hidden.reshape(8, 8, 4, 8, 4).transpose(0, 1, 3, 2, 4).reshape(8, 8, 8, 16)
    assert np.all(blocks.all(-1) | ~blocks.any(-1))  # whole tiles only
