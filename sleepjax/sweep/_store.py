"""Labelled, chunked, resumable results store for parameter sweeps.

A :class:`ResultStore` is a directory holding one Zarr (format 3) group that
``xarray.open_zarr(path)`` opens as a labelled dataset and that plain
``zarr``/NumPy can read. A sweep writes it chunk by chunk; after a crash or a
``kill -9`` the sweep reopens it with :meth:`ResultStore.open_or_create` and
computes only :meth:`ResultStore.pending_chunks`.

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
variables, hashes of coordinate values), ``versions`` (python, jax, jaxlib,
equinox, diffrax, numpy, zarr, sleepjax; ``None`` where not installed),
``device``, ``created`` and ``finalized`` (ISO 8601, UTC), ``resumed`` (a
list of ``{"at", "device"}``, one per resume), ``complete``,
``summary`` and ``status_codes``. Non-index coordinates are attached to each
data variable through the CF ``coordinates`` attribute, so xarray lists them
as coordinates.

Completeness and atomicity
--------------------------
The ``status`` array is the commit record. :meth:`ResultStore.write_chunk`
writes every data variable of the chunk first and the chunk's ``status``
values (all >= 0) last, as one Zarr chunk. A chunk is *done* exactly when its
``status`` chunk holds no ``-1``. A process killed before or while writing a
chunk's status therefore leaves that chunk pending (its status reads ``-1``,
or its status chunk file cannot be decoded, which also counts as pending),
and a resumed sweep rewrites the whole chunk. Recent zarr (zarr-python
PR #3412, e.g. 3.1.6) writes each local chunk file to a temporary name and
renames it into place, so a reader never sees half a chunk; ``*.partial``
temporary files left by killed writes are harmless and are removed by
``finalize``. Creating a store is atomic too: it is built in a hidden
sibling directory and renamed into place. The group attribute ``complete``
turns True only in :meth:`ResultStore.finalize`, which refuses while any
chunk is pending. Guarantees cover process crashes, not power loss
(chunk files are not fsync'ed).

Failed networks: ``write_chunk`` stores outputs exactly as given. The caller
(the sweep runner) NaN-masks the outputs of networks whose status is 1 or 2
before writing, so for floating and complex variables ``status != 0`` implies
NaN outputs. Integer and boolean variables cannot hold NaN; read ``status``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import shutil
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

__all__ = [
    "ResultStore",
    "Status",
    "StoreConfigMismatch",
    "VariableSpec",
]

_FORMAT = "sleepjax.sweep.ResultStore"
_FORMAT_VERSION = 1
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


def _remove_partials(path: Path) -> None:
    """Delete temporary files left by chunk writes that were killed."""
    for p in path.rglob("*.partial"):
        if p.is_file():
            p.unlink(missing_ok=True)


# --------------------------------------------------------------------------
# the store


class ResultStore:
    """Chunked, labelled, resumable results of one sweep (see module docs).

    Make one with :meth:`create` or :meth:`open_or_create` (writable) or
    :meth:`open` (read-only). A writer loops over :meth:`pending_chunks`,
    calls :meth:`write_chunk` for each and then :meth:`finalize`.

    Attributes
    ----------
    path: the store directory.
    n_networks, chunk_size, n_chunks: sizes.
    variables: ``{name: VariableSpec}`` of the data variables.
    coord_names: names of the per-network coordinates.
    has_time: whether a ``time`` coordinate exists.
    read_only: True for stores from :meth:`open`.
    """

    def __init__(self, path: Path, group: zarr.Group, read_only: bool) -> None:
        # Use the classmethods; this only binds an already validated group.
        self.path = path
        self.read_only = read_only
        self._group = group
        attrs = dict(group.attrs)
        layout = attrs["layout"]
        self.n_networks: int = int(layout["n_networks"])
        self.chunk_size: int = int(layout["chunk_size"])
        self.n_chunks: int = -(-self.n_networks // self.chunk_size)
        self.coord_names: tuple[str, ...] = tuple(layout["coords"])
        self.has_time: bool = layout["time"] is not None
        self.variables: dict[str, VariableSpec] = {
            name: VariableSpec(tuple(v["dims"]), tuple(v["shape"]), v["dtype"])
            for name, v in layout["variables"].items()
        }
        self.config: dict[str, Any] = attrs["config"]
        self.config_hash: str = attrs["config_hash"]
        self._complete = bool(attrs.get("complete", False))
        self._arrays: dict[str, zarr.Array] = {}

    # ---------------------------------------------------------------- make

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        config: Mapping[str, Any],
        n_networks: int,
        chunk_size: int,
        coords: Mapping[str, Any],
        time: np.ndarray | None,
        variables: Mapping[str, VariableSpec | tuple],
        device: str = "",
        overwrite: bool = False,
    ) -> ResultStore:
        """Create a new, empty store at ``path`` (all chunks pending).

        Parameters
        ----------
        path:
            Store directory. It must not exist, or be an empty directory, or
            (with ``overwrite=True``) be an existing sleepjax store, which is
            replaced. Other existing content is never deleted.
        config:
            The full sweep config; stored as JSON (NumPy scalars and arrays
            are converted) and hashed.
        n_networks, chunk_size:
            Number of networks and networks per chunk (= Zarr chunk length).
        coords:
            Per-network coordinates (swept parameters, ``seed``), each 1-D of
            length ``n_networks``: bool, int, float or str (categorical).
        time:
            1-D sample times, or None when no variable has a time dimension.
        variables:
            ``{name: VariableSpec}`` (or ``(dims, shape, dtype)`` tuples) of the
            outputs; each is stored with dims ``("network", *spec.dims)``.
        device:
            Free-text description of the devices running the sweep.
        overwrite:
            Replace an existing sleepjax store at ``path``.
        """
        path = Path(path)
        spec = _Spec.build(config, n_networks, chunk_size, coords, time, variables)
        cls._check_target(path, overwrite=overwrite)
        cls._build(path, spec, device=device)
        return cls._open(path, read_only=False)

    @classmethod
    def open_or_create(
        cls,
        path: str | os.PathLike,
        *,
        config: Mapping[str, Any],
        n_networks: int,
        chunk_size: int,
        coords: Mapping[str, Any],
        time: np.ndarray | None,
        variables: Mapping[str, VariableSpec | tuple],
        device: str = "",
        overwrite: bool = False,
    ) -> ResultStore:
        """Resume the store at ``path`` if it matches, else create it.

        Same arguments as :meth:`create`. If ``path`` holds a sleepjax store
        made with the same config (hash) and layout (sizes, chunking,
        variables, coordinate values), it is opened for writing, its done
        chunks are kept and the resume is logged in the ``resumed``
        attribute (with ``device``). If it was made for a different config or layout,
        :class:`StoreConfigMismatch` is raised, unless ``overwrite=True``,
        which deletes it and creates a fresh store.
        """
        path = Path(path)
        spec = _Spec.build(config, n_networks, chunk_size, coords, time, variables)
        if path.is_dir() and _is_store_dir(path):
            try:
                stored = cls._open(path, read_only=True)
            except ValueError as err:  # damaged or from a newer sleepjax
                if not overwrite:
                    raise StoreConfigMismatch(
                        f"{err}. Use another path, or overwrite=True to delete it."
                    ) from err
                stored = None
            problems = (
                spec.differences(dict(stored._group.attrs))
                if stored is not None
                else ["unreadable store"]
            )
            if not problems:
                store = cls._open(path, read_only=False)
                resumed = list(store.attrs.get("resumed") or [])
                resumed.append({"at": _now(), "device": str(device)})
                store._group.attrs.update({"resumed": resumed})
                return store
            if not overwrite:
                raise StoreConfigMismatch(
                    f"{path} holds a sleepjax store for a different sweep: "
                    + "; ".join(problems)
                    + ". Use another path, or overwrite=True to delete it."
                )
        cls._check_target(path, overwrite=overwrite)
        cls._build(path, spec, device=device)
        return cls._open(path, read_only=False)

    @classmethod
    def open(cls, path: str | os.PathLike) -> ResultStore:
        """Open an existing store read-only (to read results or check progress)."""
        return cls._open(Path(path), read_only=True)

    @classmethod
    def _open(cls, path: Path, *, read_only: bool) -> ResultStore:
        if not path.exists():
            raise FileNotFoundError(f"no sleepjax result store at {path}")
        if not path.is_dir():
            raise ValueError(f"{path} is a file, not a sleepjax result store")
        if not _is_store_dir(path):
            raise ValueError(
                f"{path} is not a sleepjax result store (no zarr.json with a "
                "'sleepjax_store' attribute)"
            )
        group = zarr.open_group(
            str(path), mode="r" if read_only else "r+", zarr_format=3
        )
        tag = group.attrs["sleepjax_store"]
        if int(tag.get("version", 0)) > _FORMAT_VERSION:
            raise ValueError(
                f"{path} was written by a newer sleepjax (store format version "
                f"{tag.get('version')}, this one reads <= {_FORMAT_VERSION})"
            )
        store = cls(path, group, read_only)
        expected = [_NETWORK, _STATUS, *store.coord_names, *store.variables]
        if store.has_time:
            expected.append(_TIME)
        present = set(group.array_keys())
        missing = [k for k in expected if k not in present]
        if missing:
            raise ValueError(f"{path}: sleepjax store is damaged, missing {missing}")
        return store

    @staticmethod
    def _check_target(path: Path, *, overwrite: bool) -> None:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} exists and is a file, not a directory")
        if path.is_dir() and any(path.iterdir()):
            if not _is_store_dir(path):
                raise ValueError(
                    f"{path} exists, is not empty and is not a sleepjax store; "
                    "refusing to write into or delete it"
                )
            if not overwrite:
                raise ValueError(
                    f"{path} already holds a sleepjax store; use open_or_create "
                    "to resume it or overwrite=True to replace it"
                )

    @staticmethod
    def _build(path: Path, spec: _Spec, *, device: str) -> None:
        """Write a complete empty store next to ``path``, then rename it in."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:12]
        tmp = path.parent / f".{path.name}.creating-{tag}"
        try:
            spec.write(tmp, device=device)
            if path.is_dir():
                if any(path.iterdir()):  # an old store: move aside, then drop
                    trash = path.parent / f".{path.name}.deleting-{tag}"
                    os.rename(path, trash)
                    os.rename(tmp, path)
                    shutil.rmtree(trash)
                    return
                path.rmdir()
            os.rename(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------------- state

    @property
    def attrs(self) -> dict[str, Any]:
        """The group attributes, read from disk."""
        meta = json.loads((self.path / "zarr.json").read_text())
        return meta.get("attributes", {})

    @property
    def complete(self) -> bool:
        """True once :meth:`finalize` has succeeded (read from disk)."""
        return bool(self.attrs.get("complete", False))

    def chunk_slice(self, i: int) -> slice:
        """The networks ``[start, stop)`` of chunk ``i``."""
        i = self._check_chunk(i)
        start = i * self.chunk_size
        return slice(start, min(start + self.chunk_size, self.n_networks))

    def _check_chunk(self, i: Any) -> int:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise ValueError(f"chunk index must be an int, got {i!r}")
        if not 0 <= int(i) < self.n_chunks:
            raise ValueError(
                f"chunk index {i} out of range: this store has {self.n_chunks} "
                f"chunks (0..{self.n_chunks - 1})"
            )
        return int(i)

    def _array(self, name: str) -> zarr.Array:
        arr = self._arrays.get(name)
        if arr is None:
            arr = self._arrays[name] = self._group[name]
        return arr

    def _chunk_done(self, status: np.ndarray) -> bool:
        return status.size > 0 and bool(np.all(status >= 0))

    def _read_chunk_done(self, sl: slice) -> bool:
        try:
            status = self._array(_STATUS)[sl]
        except Exception:  # a torn status chunk (old zarr): not done
            return False
        return self._chunk_done(status)

    def pending_chunks(self) -> list[int]:
        """Indices of chunks not yet done, ascending.

        A chunk is done when all its ``status`` values are >= 0; an unreadable
        status chunk (a torn write with an old zarr) counts as pending.
        """
        arr = self._array(_STATUS)
        try:
            status = arr[:]
        except Exception:  # fall back to chunk by chunk
            status = None
        pending = []
        for i in range(self.n_chunks):
            sl = self.chunk_slice(i)
            if status is not None:
                done = self._chunk_done(status[sl])
            else:
                done = self._read_chunk_done(sl)
            if not done:
                pending.append(i)
        return pending

    def done_chunks(self) -> list[int]:
        """Indices of chunks already written, ascending."""
        pending = set(self.pending_chunks())
        return [i for i in range(self.n_chunks) if i not in pending]

    # ---------------------------------------------------------------- write

    def _check_writable(self) -> None:
        if self.read_only:
            raise ValueError(
                f"{self.path} was opened read-only; use ResultStore.open_or_create "
                "to resume writing"
            )

    def write_chunk(self, i: int, data: Mapping[str, Any], status: np.ndarray) -> None:
        """Write every output of chunk ``i`` and mark it done.

        Parameters
        ----------
        i:
            Chunk index (see :meth:`pending_chunks`).
        data:
            ``{name: array}`` for *every* variable, each of shape
            ``(len(chunk), *spec.shape)``; values are cast to the variable's
            dtype (only casts within a kind, e.g. float64 -> float32). The
            caller NaN-masks outputs of failed networks beforehand.
        status:
            Integer array of shape ``(len(chunk),)`` with codes 0 (ok),
            1 (solver failure) or 2 (non-finite state).

        Data variables are written first and ``status`` last; the status write
        is what marks the chunk done, so a crash in between leaves it pending.
        Writing a chunk that is already done raises.
        """
        self._check_writable()
        i = self._check_chunk(i)
        if self._complete or self.complete:
            raise ValueError(f"{self.path} is finalized; it cannot be written to")
        sl = self.chunk_slice(i)
        n = sl.stop - sl.start

        unknown = sorted(set(data) - set(self.variables))
        if unknown:
            raise ValueError(
                f"unknown variable(s) {unknown} in write_chunk; this store has "
                f"{sorted(self.variables)}"
            )
        missing = sorted(set(self.variables) - set(data))
        if missing:
            raise ValueError(
                f"write_chunk({i}) is missing variable(s) {missing}: a chunk is "
                "written whole"
            )
        arrays = {}
        for name, spec in self.variables.items():
            arr = np.asarray(data[name])
            want = (n, *spec.shape)
            if arr.shape != want:
                raise ValueError(
                    f"variable {name!r} in chunk {i}: expected shape {want}, "
                    f"got {arr.shape}"
                )
            if not np.can_cast(arr.dtype, spec.dtype, casting="same_kind"):
                raise ValueError(
                    f"variable {name!r} in chunk {i}: cannot store dtype "
                    f"{arr.dtype} as {spec.dtype}"
                )
            arrays[name] = arr.astype(spec.dtype, copy=False)

        st = np.asarray(status)
        if st.shape != (n,):
            raise ValueError(
                f"status for chunk {i}: expected shape {(n,)}, got {st.shape}"
            )
        if st.dtype.kind not in "iu":
            raise ValueError(f"status must be an integer array, got {st.dtype}")
        bad = ~np.isin(st, [Status.OK, Status.SOLVER_FAILURE, Status.NONFINITE])
        if bad.any():
            raise ValueError(
                f"status for chunk {i} holds invalid codes "
                f"{sorted(set(st[bad].tolist()))}; use 0 (ok), 1 (solver "
                "failure) or 2 (non-finite)"
            )
        if self._read_chunk_done(sl):
            raise ValueError(f"chunk {i} is already written")

        for name, arr in arrays.items():
            self._array(name)[sl] = arr
        self._commit_status(sl, st.astype(np.int8))

    def _commit_status(self, sl: slice, status: np.ndarray) -> None:
        # The commit point: one Zarr chunk, written last.
        self._array(_STATUS)[sl] = status

    def finalize(self, summary: Mapping[str, Any] | None = None) -> None:
        """Mark the store complete, storing an optional JSON ``summary``.

        Raises ValueError if any chunk is still pending. On a store that is
        already complete it only replaces the summary (when one is given).
        """
        self._check_writable()
        summary_json = None if summary is None else _jsonable(summary, "summary")
        if self.complete:
            if summary_json is not None:
                self._group.attrs.update({"summary": summary_json})
            self._complete = True
            return
        pending = self.pending_chunks()
        if pending:
            head = ", ".join(map(str, pending[:10]))
            more = " ..." if len(pending) > 10 else ""
            raise ValueError(
                f"cannot finalize {self.path}: {len(pending)} of {self.n_chunks} "
                f"chunks pending ({head}{more})"
            )
        _remove_partials(self.path)  # no write can be in flight: all are done
        update: dict[str, Any] = {"complete": True, "finalized": _now()}
        if summary_json is not None:
            update["summary"] = summary_json
        self._group.attrs.update(update)
        self._complete = True

    # ---------------------------------------------------------------- read

    def read(self, name: str, chunk: int | None = None) -> np.ndarray:
        """Read one array (variable, coordinate, ``status``, ``time``,
        ``network``) as NumPy, whole or for one chunk. Strings come back as
        a NumPy ``str`` array."""
        names = [_NETWORK, _STATUS, *self.coord_names, *self.variables]
        if self.has_time:
            names.append(_TIME)
        if name not in names:
            raise ValueError(f"no array {name!r} in this store; it has {names}")
        arr = self._array(name)
        if chunk is None:
            out = arr[:]
        else:
            if name == _TIME:
                raise ValueError("'time' is not chunked along network")
            out = arr[self.chunk_slice(chunk)]
        out = np.asarray(out)
        if out.dtype.kind in "OT":  # object or numpy.dtypes.StringDType
            out = np.array(out.tolist(), dtype=str)
        return out

    def to_xarray(self, **kwargs: Any):
        """Open the store with ``xarray.open_zarr`` (lazy, dask-free unless
        ``chunks`` is given). Needs the optional dependency xarray."""
        try:
            import xarray as xr
        except ImportError as err:  # pragma: no cover - depends on environment
            raise ImportError(
                "ResultStore.to_xarray needs xarray: pip install xarray "
                "(or open the store with zarr directly)"
            ) from err
        return xr.open_zarr(self.path, **kwargs)

    def __repr__(self) -> str:
        return (
            f"ResultStore({str(self.path)!r}, n_networks={self.n_networks}, "
            f"chunk_size={self.chunk_size}, variables={list(self.variables)}, "
            f"read_only={self.read_only})"
        )


# --------------------------------------------------------------------------
# validated description of a store to create


@dataclass
class _Spec:
    config: dict[str, Any]
    config_hash: str
    n_networks: int
    chunk_size: int
    coords: dict[str, np.ndarray]
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
        coords: Mapping[str, Any],
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
        carr = {}
        for name, values in coords.items():
            _check_name(name, "coordinate")
            if name in _RESERVED:
                raise ValueError(f"coordinate name {name!r} is reserved")
            if name in specs:
                raise ValueError(f"{name!r} is both a coordinate and a variable")
            carr[name] = _coord_array(name, values, n_networks)
        for name in [*specs, *carr]:
            if name in dims:
                raise ValueError(f"{name!r} is also a dimension name; rename it")

        layout = {
            "n_networks": n_networks,
            "chunk_size": chunk_size,
            "coords": {
                k: {"dtype": v.dtype.kind, "sha256": _hash_array(v)}
                for k, v in carr.items()
            },
            "time": None
            if time is None
            else {"length": int(time.shape[0]), "sha256": _hash_array(time)},
            "variables": {k: v.to_json() for k, v in specs.items()},
        }
        return cls(
            config=cfg,
            config_hash=_hash_json(cfg),
            n_networks=n_networks,
            chunk_size=chunk_size,
            coords=carr,
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

    def write(self, path: Path, *, device: str) -> None:
        n, cs = self.n_networks, self.chunk_size
        names = " ".join(self.coords)
        attrs = {
            "sleepjax_store": {"format": _FORMAT, "version": _FORMAT_VERSION},
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

        make(_NETWORK, (n,), [_NETWORK], "int64", 0)[:] = np.arange(n)
        for name, values in self.coords.items():
            if values.dtype.kind == "U":
                arr = make(name, (n,), [_NETWORK], str, "")
            else:
                arr = make(name, (n,), [_NETWORK], values.dtype, 0)
            arr[:] = values
        if self.time is not None:
            t = self.time
            make(_TIME, t.shape, [_TIME], t.dtype, 0, chunks=t.shape)[:] = t
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
