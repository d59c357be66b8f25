"""Data made on the fly (and the demo's config, `demo.toml`).

- `sleepjax.data.shapes`: procedural labelled shapes, a Shapes3D-like image
  set (`shapes(key, n, size=32, split="train")`).
- `sleepjax.data.corrupt`: noisy and occluded versions of images.
"""

from . import corrupt as corrupt
from . import shapes as shapes
