"""Per-network coordinates of a results store, produced block by block.

A store's coordinates (one value per network for each swept path and the
seed) come from a `CoordSource`: the store asks it for the networks
`[start, stop)` and never for all of them at once. `ArrayCoords` wraps
arrays that are already in memory (`ResultStore.create(coords={...})`); a
sweep's plan supplies its own source (`SweepPlan.coord_source`), which
computes the values of any range from the sweep's axes.

Two things a source decides:

- `hashes()`: what the store's layout records of each coordinate (its kind
  and a SHA-256). The default is the hash of the values themselves, streamed
  block by block (the same digest as hashing the whole array at once).
- `by_chunk`: `False` (the default) writes the coordinates when the store is
  created, in blocks of `BLOCK` networks; `True` writes each chunk's
  coordinates together with its results (for sweeps too large to lay out at
  creation), so the store's creation costs nothing per network.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

#: networks per block when coordinates are hashed or written at creation
BLOCK = 1 << 20


class CoordSource(abc.ABC):
    """Per-network coordinates, computed for any range of networks.

    Subclasses set `n_networks` and `names` and define `block`.
    """

    n_networks: int
    names: tuple[str, ...]
    #: write the coordinates with each chunk's results, not at creation
    by_chunk: bool = False

    @abc.abstractmethod
    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """`{name: 1-D array}` of the networks `start .. stop - 1`."""

    def dtypes(self) -> dict[str, np.dtype]:
        """The dtype of each coordinate (from its first value)."""
        return {k: v.dtype for k, v in self.block(0, 1).items()}

    def hashes(self) -> dict[str, dict[str, str]]:
        """`{name: {"dtype": kind, "sha256": digest}}` for the store's layout:
        by default the digest of all values, streamed block by block."""
        return stream_hashes(self)

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """`(start, block)` over all networks, `size` networks at a time."""
        for start in range(0, self.n_networks, size):
            yield start, self.block(start, min(start + size, self.n_networks))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.names)


class ArrayCoords(CoordSource):
    """Coordinates given as whole arrays (validated, each of length
    `n_networks`)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], n_networks: int):
        self.arrays = dict(arrays)
        self.names = tuple(self.arrays)
        self.n_networks = int(n_networks)

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return {k: v[start:stop] for k, v in self.arrays.items()}

    def dtypes(self) -> dict[str, np.dtype]:
        return {k: v.dtype for k, v in self.arrays.items()}


def stream_hashes(source: CoordSource, size: int = BLOCK) -> dict[str, dict[str, str]]:
    """The layout entry of each coordinate, `{"dtype": kind, "sha256": ...}`,
    hashed block by block: the digest equals that of the whole array (its
    bytes, or for strings the JSON list of them)."""
    digests: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    first: dict[str, bool] = {}
    for _, block in source.blocks(size):
        for name, values in block.items():
            kind = values.dtype.kind
            if name not in digests:
                digests[name] = hashlib.sha256(kind.encode() + b":")
                kinds[name] = kind
                first[name] = True
                if kind in "US":
                    digests[name].update(b"[")
            elif kinds[name] != kind:
                raise ValueError(
                    f"coordinate {name!r}: blocks of kinds {kinds[name]!r} and {kind!r}"
                )
            h = digests[name]
            if kind in "US":
                text = json.dumps([str(v) for v in values.tolist()])[1:-1]
                if text:
                    h.update((text if first[name] else ", " + text).encode())
                    first[name] = False
            else:
                h.update(np.ascontiguousarray(values).tobytes())
    out = {}
    for name in source.names:  # n_networks >= 1: every name has a digest
        h = digests[name]
        if kinds[name] in "US":
            h.update(b"]")
        out[name] = {"dtype": kinds[name], "sha256": h.hexdigest()}
    return out
