"""On-disk layout of a :class:`~sleepjax.sweep.ResultStore` and its pieces.

The value types of a store (:class:`VariableSpec`, :class:`Status`,
:class:`StoreConfigMismatch`), name checks, JSON normalisation and hashing,
coordinate arrays, package versions, and :class:`_Spec`: the validated
description of a store to create, which writes the empty store.

On-disk layout (``<path>/``)::

    zarr.json            group metadata; attributes listed below; consolidated
                         metadata of every array (so xarray opens it quickly)
    network/             int64 (network,)       0 .. n_networks - 1   [index]
    time/                (time,)                sample times          [index,
                                                                       optional]
    <coord>/             (network,)  one per swept parameter and ``seed``;
                         float, int, bool or string (categorical)
    <variable>/          (network, *dims)       one per output
    status/              int8 (network,)        -1 pending (fill value),
                                                0 ok, 1 solver failure,
                                                2 non-finite state

Every array is chunked along ``network`` with exactly ``chunk_size`` networks
per Zarr chunk (and one chunk over every other dimension), so sweep chunk
``i`` writes whole Zarr chunks ``i`` only: no read-modify-write, and separate
processes may write separate chunks concurrently.

Group attributes: ``sleepjax_store`` (format tag and version), ``config`` (the
full, JSON-normalised sweep config), ``config_hash`` (SHA-256 of the canonical
JSON of ``config``), ``layout`` and ``layout_hash`` (sizes, chunking,
variables, hashes of coordinate values; ``coords_by_chunk`` when the
coordinates are written with each chunk, see :mod:`sleepjax.sweep._coords`,
and then hashed from the sweep's axes), ``versions`` (python, jax, jaxlib,
equinox, diffrax, numpy, zarr, sleepjax; ``None`` where not installed),
``device``, ``created`` and ``finalized`` (ISO 8601, UTC), ``resumed`` (a
list of ``{"at", "device"}``, one per resume), ``complete``,
``summary`` and ``status_codes``. Non-index coordinates are attached to each
data variable through the CF ``coordinates`` attribute, so xarray lists them
as coordinates.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import re
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ._coords import BLOCK, ArrayCoords, CoordSource

_FORMAT = "sleepjax.sweep.ResultStore"
#: the newest store format this code reads; it writes 1 (coordinates written
#: at creation, readable by older sleepjax) or 2 (coordinates written with
#: each chunk: an older sleepjax must not resume such a store)
_FORMAT_VERSION = 2
_NETWORK = "network"
_TIME = "time"
_STATUS = "status"
_RESERVED = frozenset({_NETWORK, _TIME, _STATUS})
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_VERSION_PACKAGES = (
    "jax",
    "jaxlib",
    "equinox",
    "diffrax",
    "numpy",
    "zarr",
    "sleepjax",
)


class Status(IntEnum):
    """Per-network status codes stored in the ``status`` variable."""

    PENDING = -1
    """Not computed yet (the array's fill value)."""
    OK = 0
    SOLVER_FAILURE = 1
    """The solver reported failure (e.g. diffrax ``sol.result`` not successful)."""
    NONFINITE = 2
    """The state became NaN or infinite."""


_STATUS_CODES = {str(int(s)): s.name.lower() for s in Status}


class StoreConfigMismatch(ValueError):
    """A store at the path was made for a different config or layout."""


@dataclass(frozen=True)
class VariableSpec:
    """Shape of one per-network output.

    Parameters
    ----------
    dims:
        Dimension names after ``network``, e.g. ``("time", "neuron")``. A
        ``"time"`` dimension must match the store's time coordinate; any other
        name is a new dimension without coordinate values (its size must agree
        across variables).
    shape:
        Sizes of ``dims`` (same length as ``dims``).
    dtype:
        NumPy dtype: bool, integer, float or complex.
    attrs:
        Extra Zarr/xarray attributes (e.g. ``{"units": "Hz"}``).
    fill_value:
        Value read for networks never written. Defaults to NaN for floating
        and complex dtypes, 0 for integers and False for booleans.
    """

    dims: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    dtype: Any = "float32"
    attrs: Mapping[str, Any] = field(default_factory=dict)
    fill_value: Any = None

    def __post_init__(self) -> None:
        dims = tuple(self.dims)
        shape = tuple(int(s) for s in self.shape)
        if len(dims) != len(shape):
            raise ValueError(
                f"VariableSpec: dims {dims} and shape {shape} differ in length"
            )
        for d in dims:
            _check_name(d, "dimension")
            if d == _NETWORK:
                raise ValueError(
                    "VariableSpec: 'network' is implicit (the first dimension); "
                    "list only the dimensions after it"
                )
        if len(set(dims)) != len(dims):
            raise ValueError(f"VariableSpec: repeated dimension in {dims}")
        if any(s < 1 for s in shape):
            raise ValueError(f"VariableSpec: sizes must be >= 1, got {shape}")
        dtype = np.dtype(self.dtype)
        if dtype.kind not in "biufc":
            raise ValueError(
                f"VariableSpec: dtype must be bool, integer, float or complex, "
                f"got {dtype}"
            )
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "attrs", dict(self.attrs))

    @classmethod
    def coerce(cls, spec: VariableSpec | tuple) -> VariableSpec:
        """Accept a :class:`VariableSpec` or a ``(dims, shape, dtype)`` tuple."""
        if isinstance(spec, VariableSpec):
            return spec
        if isinstance(spec, tuple | list) and len(spec) == 3:
            return cls(tuple(spec[0]), tuple(spec[1]), spec[2])
        raise ValueError(
            f"variable spec must be a VariableSpec or (dims, shape, dtype), "
            f"got {spec!r}"
        )

    @property
    def default_fill(self) -> Any:
        """The fill value actually used (``fill_value`` or the dtype default)."""
        if self.fill_value is not None:
            return self.fill_value
        if self.dtype.kind == "f":
            return float("nan")
        if self.dtype.kind == "c":
            return complex(float("nan"), float("nan"))
        if self.dtype.kind == "b":
            return False
        return 0

    def to_json(self) -> dict[str, Any]:
        """Layout description (without ``attrs``), as stored in the store."""
        return {
            "dims": list(self.dims),
            "shape": list(self.shape),
            "dtype": self.dtype.name,
        }


# --------------------------------------------------------------------------
# helpers


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid {what} name {name!r}: use letters, digits, '_', '.', '-' "
            "and start with a letter or '_'"
        )
    if name.startswith("__"):
        raise ValueError(f"invalid {what} name {name!r}: '__' prefix is reserved")
    return name


def _jsonable(obj: Any, where: str = "config") -> Any:
    """Normalise ``obj`` to plain JSON types (dict/list/str/int/float/bool/None)."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | float):
        return obj
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), where)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: keys must be strings, got {k!r}")
            out[k] = _jsonable(v, f"{where}[{k!r}]")
        return out
    if isinstance(obj, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise ValueError(
        f"{where}: value of type {type(obj).__name__} is not JSON-serialisable "
        "(use dicts, lists, strings, numbers, booleans, None or NumPy arrays)"
    )


def _hash_json(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_array(values: np.ndarray) -> str:
    if values.dtype.kind in "US":
        payload = json.dumps([str(v) for v in values.tolist()]).encode()
    else:
        payload = np.ascontiguousarray(values).tobytes()
    h = hashlib.sha256(values.dtype.kind.encode() + b":" + payload)
    return h.hexdigest()


def _coord_array(name: str, values: Any, n_networks: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "O" or arr.dtype.kind == "T":  # object / StringDType
        if not all(isinstance(v, str) for v in arr.ravel().tolist()):
            raise ValueError(
                f"coordinate {name!r}: object arrays must hold only strings"
            )
        arr = np.array(arr.tolist(), dtype=str)
    if arr.dtype.kind == "S":
        arr = arr.astype(str)
    if arr.ndim != 1 or arr.shape[0] != n_networks:
        raise ValueError(
            f"coordinate {name!r} must be 1-D of length n_networks={n_networks}, "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind not in "biufU":
        raise ValueError(
            f"coordinate {name!r}: dtype {arr.dtype} not supported "
            "(use bool, integer, float or string)"
        )
    return arr


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in _VERSION_PACKAGES:
        try:
            versions[pkg] = _metadata.version(pkg)
        except _metadata.PackageNotFoundError:
            versions[pkg] = None
    if versions["sleepjax"] is None:
        try:  # a source checkout that is not pip-installed
            import sleepjax

            versions["sleepjax"] = getattr(sleepjax, "__version__", None)
        except Exception:  # versions are informational only
            pass
    return versions


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _is_store_dir(path: Path) -> bool:
    meta = path / "zarr.json"
    if not meta.is_file():
        return False
    try:
        attrs = json.loads(meta.read_text()).get("attributes", {})
    except (OSError, ValueError):
        return False
    tag = attrs.get("sleepjax_store")
    return isinstance(tag, dict) and tag.get("format") == _FORMAT


# --------------------------------------------------------------------------
# validated description of a store to create


@dataclass
class _Spec:
    config: dict[str, Any]
    config_hash: str
    n_networks: int
    chunk_size: int
    coords: CoordSource
    time: np.ndarray | None
    variables: dict[str, VariableSpec]
    layout: dict[str, Any]
    layout_hash: str

    @classmethod
    def build(
        cls,
        config: Mapping[str, Any],
        n_networks: int,
        chunk_size: int,
        coords: Mapping[str, Any] | CoordSource,
        time: Any,
        variables: Mapping[str, Any],
    ) -> _Spec:
        if not isinstance(config, Mapping):
            raise ValueError(f"config must be a dict, got {type(config).__name__}")
        cfg = _jsonable(config, "config")
        for name, val in (("n_networks", n_networks), ("chunk_size", chunk_size)):
            if isinstance(val, bool) or not isinstance(val, int | np.integer):
                raise ValueError(f"{name} must be an int, got {val!r}")
            if val < 1:
                raise ValueError(f"{name} must be >= 1, got {val}")
        n_networks, chunk_size = int(n_networks), int(chunk_size)

        if time is not None:
            time = np.asarray(time)
            if time.ndim != 1 or time.size == 0 or time.dtype.kind not in "iuf":
                raise ValueError(
                    f"time must be a non-empty 1-D numeric array, got shape "
                    f"{time.shape} dtype {time.dtype}"
                )

        if not variables:
            raise ValueError("a store needs at least one variable")
        specs = {}
        dim_sizes: dict[str, tuple[int, str]] = {}
        for name, raw in variables.items():
            _check_name(name, "variable")
            if name in _RESERVED:
                raise ValueError(f"variable name {name!r} is reserved")
            spec = VariableSpec.coerce(raw)
            for d, s in zip(spec.dims, spec.shape, strict=True):
                if d == _TIME:
                    if time is None:
                        raise ValueError(
                            f"variable {name!r} has a 'time' dimension but time=None"
                        )
                    if s != time.shape[0]:
                        raise ValueError(
                            f"variable {name!r}: 'time' has size {s} but the "
                            f"time coordinate has length {time.shape[0]}"
                        )
                elif d in dim_sizes and dim_sizes[d][0] != s:
                    other = dim_sizes[d][1]
                    raise ValueError(
                        f"dimension {d!r} has size {s} in {name!r} but "
                        f"{dim_sizes[d][0]} in {other!r}"
                    )
                else:
                    dim_sizes[d] = (s, name)
            specs[name] = spec

        dims = set(dim_sizes) | {_NETWORK, _TIME}
        for name in coords:
            _check_name(name, "coordinate")
            if name in _RESERVED:
                raise ValueError(f"coordinate name {name!r} is reserved")
            if name in specs:
                raise ValueError(f"{name!r} is both a coordinate and a variable")
        if isinstance(coords, CoordSource):
            if coords.n_networks != n_networks:
                raise ValueError(
                    f"the coordinates cover {coords.n_networks} networks, "
                    f"not n_networks={n_networks}"
                )
            source = coords
        else:
            source = ArrayCoords(
                {k: _coord_array(k, v, n_networks) for k, v in coords.items()},
                n_networks,
            )
        for name in [*specs, *source.names]:
            if name in dims:
                raise ValueError(f"{name!r} is also a dimension name; rename it")
        for name, dtype in source.dtypes().items():
            if np.dtype(dtype).kind not in "biufU":
                raise ValueError(
                    f"coordinate {name!r}: dtype {dtype} not supported "
                    "(use bool, integer, float or string)"
                )

        layout = {
            "n_networks": n_networks,
            "chunk_size": chunk_size,
            # hashes of the values (or, for a source that writes them with
            # each chunk, of what determines them: the sweep's axes)
            "coords": source.hashes(),
            "time": None
            if time is None
            else {"length": int(time.shape[0]), "sha256": _hash_array(time)},
            "variables": {k: v.to_json() for k, v in specs.items()},
        }
        if source.by_chunk:  # absent otherwise: older layouts hash the same
            layout["coords_by_chunk"] = True
        return cls(
            config=cfg,
            config_hash=_hash_json(cfg),
            n_networks=n_networks,
            chunk_size=chunk_size,
            coords=source,
            time=time,
            variables=specs,
            layout=layout,
            layout_hash=_hash_json(layout),
        )

    def differences(self, attrs: Mapping[str, Any]) -> list[str]:
        """Human-readable differences from a stored store's attributes."""
        out = []
        if attrs.get("config_hash") != self.config_hash:
            stored = attrs.get("config", {})
            keys = sorted(
                k
                for k in set(stored) | set(self.config)
                if stored.get(k, _MISSING) != self.config.get(k, _MISSING)
            )
            out.append(
                f"config differs (hash {str(attrs.get('config_hash'))[:12]} on "
                f"disk vs {self.config_hash[:12]}; keys {keys})"
            )
        if attrs.get("layout_hash") != self.layout_hash:
            stored = attrs.get("layout", {})
            found = []
            for key in ("n_networks", "chunk_size", "time"):
                if stored.get(key) != self.layout[key]:
                    found.append(f"{key} differs ({stored.get(key)} on disk)")
            for key in ("variables", "coords"):
                old, new = stored.get(key, {}), self.layout[key]
                names = sorted(
                    k for k in set(old) | set(new) if old.get(k) != new.get(k)
                )
                if names:
                    found.append(f"{key} {names} differ")
            out.extend(found or ["layout differs"])
        return out

    def write(self, path: Path, *, device: str, extra: Mapping | None = None) -> None:
        """Write the empty store. `extra`: more group attributes (not part of
        the hashes), e.g. `time_attrs` for the time coordinate and the run's
        `resolved` configuration; `index_dims`: extra dimensions that get an
        index coordinate 0, 1, ... ; `dim_coords`: `{dim: (values, attrs)}`,
        extra dimensions with a coordinate of given values (snapshot times)."""
        extra = dict(extra or {})
        time_attrs = dict(extra.pop("time_attrs", None) or {})
        index_dims = list(extra.pop("index_dims", None) or ())
        dim_coords = dict(extra.pop("dim_coords", None) or {})
        n, cs = self.n_networks, self.chunk_size
        names = " ".join(self.coords)
        attrs = {
            "sleepjax_store": {
                "format": _FORMAT,
                "version": 2 if self.coords.by_chunk else 1,
            },
            "config": self.config,
            "config_hash": self.config_hash,
            "layout": self.layout,
            "layout_hash": self.layout_hash,
            "versions": _package_versions(),
            "device": str(device),
            "created": _now(),
            "finalized": None,
            "resumed": [],
            "complete": False,
            # a new id each time a store is created at a path: a writer checks
            # before every chunk that the store it writes is still the one it
            # opened (not replaced by another process's --overwrite)
            "generation": uuid.uuid4().hex,
            **_jsonable(extra, "attributes"),
            "summary": None,
            "status_codes": _STATUS_CODES,
        }
        group = zarr.open_group(str(path), mode="w-", zarr_format=3, attributes=attrs)

        def make(name, shape, dims, dtype, fill, attrs=None, chunks=None):
            return group.create_array(
                name,
                shape=shape,
                chunks=chunks or (cs, *shape[1:]),
                dtype=dtype,
                fill_value=fill,
                dimension_names=list(dims),
                attributes=attrs or {},
            )

        coord_arrays = {_NETWORK: make(_NETWORK, (n,), [_NETWORK], "int64", 0)}
        for name, dtype in self.coords.dtypes().items():
            if dtype.kind == "U":
                coord_arrays[name] = make(name, (n,), [_NETWORK], str, "")
            else:
                coord_arrays[name] = make(name, (n,), [_NETWORK], dtype, 0)
        if not self.coords.by_chunk:  # in blocks of whole chunks
            step = max(1, BLOCK // cs) * cs
            for start, block in self.coords.blocks(step):
                sl = slice(start, min(start + step, n))
                coord_arrays[_NETWORK][sl] = np.arange(sl.start, sl.stop)
                for name, values in block.items():
                    coord_arrays[name][sl] = values
        if self.time is not None:
            t = self.time
            arr = make(
                _TIME, t.shape, [_TIME], t.dtype, 0, chunks=t.shape, attrs=time_attrs
            )
            arr[:] = t
        # an index coordinate for the extra dimensions asked for (plane, ...)
        dim_sizes = {}
        for spec in self.variables.values():
            for d, size in zip(spec.dims, spec.shape, strict=True):
                if d != _TIME:
                    dim_sizes[d] = size
        for d, (values, d_attrs) in dim_coords.items():
            values = np.asarray(values)
            if dim_sizes.get(d) != values.shape[0]:
                raise ValueError(
                    f"coordinate {d!r} has {values.shape[0]} values, but the "
                    f"dimension has {dim_sizes.get(d)}"
                )
            arr = make(d, values.shape, [d], values.dtype, 0, chunks=values.shape)
            arr.attrs.update(dict(d_attrs))
            arr[:] = values
        for d, size in dim_sizes.items():
            if d in dim_coords:
                continue
            if d in index_dims and d not in self.variables and d not in self.coords:
                make(d, (size,), [d], "int64", 0, chunks=(size,))[:] = np.arange(size)
        var_attrs = {"coordinates": names} if names else {}
        for name, spec in self.variables.items():
            make(
                name,
                (n, *spec.shape),
                [_NETWORK, *spec.dims],
                spec.dtype,
                spec.default_fill,
                attrs={**spec.attrs, **var_attrs},
            )
        make(
            _STATUS,
            (n,),
            [_NETWORK],
            "int8",
            int(Status.PENDING),
            attrs={
                "flag_values": [int(s) for s in Status],
                "flag_meanings": " ".join(s.name.lower() for s in Status),
                "long_name": "status of the network",
                "units": "1",
                "description": "-1 pending, 0 ok, 1 solver failure, 2 non-finite",
                **var_attrs,
            },
        )
        with warnings.catch_warnings():
            # zarr warns that consolidated metadata is not in the v3 spec yet;
            # it is optional for readers and lets xarray open without probing.
            warnings.simplefilter("ignore")
            zarr.consolidate_metadata(str(path))


_MISSING = object()
