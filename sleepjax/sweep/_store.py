"""Labelled, chunked, resumable results store for parameter sweeps.

A :class:`ResultStore` is a directory holding one Zarr (format 3) group that
``xarray.open_zarr(path)`` opens as a labelled dataset and that plain
``zarr``/NumPy can read. A sweep writes it chunk by chunk; after a crash or a
``kill -9`` the sweep reopens it with :meth:`ResultStore.open_or_create` and
computes only :meth:`ResultStore.pending_chunks`.

The on-disk layout (arrays, chunking, group attributes) is described in
:mod:`sleepjax.sweep._layout`, which also holds the store's value types
(:class:`VariableSpec`, :class:`Status`, :class:`StoreConfigMismatch`).

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

import itertools
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ._chunks import ChunkSchedule, _remove_partials, done_chunk_indices
from ._coords import CoordSource
from ._layout import (
    _FORMAT_VERSION,
    _NETWORK,
    _STATUS,
    _TIME,
    Status,
    StoreConfigMismatch,
    VariableSpec,
    _is_store_dir,
    _jsonable,
    _now,
    _Spec,
)
from ._layout import _hash_json as _hash_json  # re-exported (sweep._run)

__all__ = [
    "ResultStore",
    "Status",
    "StoreConfigMismatch",
    "VariableSpec",
]


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
        self.generation: str | None = attrs.get("generation")
        self._arrays: dict[str, zarr.Array] = {}
        # coordinates written with each chunk (huge sweeps) from this source
        self.coords_by_chunk = bool(layout.get("coords_by_chunk", False))
        self._coord_source: CoordSource | None = None

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
        attrs: Mapping[str, Any] | None = None,
    ) -> ResultStore:
        """Create a new, empty store at ``path`` (all chunks pending).

        Parameters
        ----------
        attrs:
            More group attributes (not part of the config or layout hashes);
            ``time_attrs`` (a dict) goes to the ``time`` coordinate.
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
            length ``n_networks``: bool, int, float or str (categorical); or
            a :class:`~sleepjax.sweep._coords.CoordSource` computing them.
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
        cls._build(path, spec, device=device, overwrite=overwrite, attrs=attrs)
        return cls._open(path, read_only=False)._with_coords(spec)

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
        attrs: Mapping[str, Any] | None = None,
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
                store = cls._open(path, read_only=False)._with_coords(spec)
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
        cls._build(path, spec, device=device, overwrite=overwrite, attrs=attrs)
        return cls._open(path, read_only=False)._with_coords(spec)

    def _with_coords(self, spec: _Spec) -> ResultStore:
        self._coord_source = spec.coords
        return self

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
    def _build(
        path: Path, spec: _Spec, *, device: str, overwrite: bool, attrs=None
    ) -> None:
        """Write a complete empty store next to ``path``, then rename it in
        (replacing a store that is there only with ``overwrite``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:12]
        tmp = path.parent / f".{path.name}.creating-{tag}"
        try:
            spec.write(tmp, device=device, extra=attrs)
            if path.is_dir():
                if any(path.iterdir()) and not overwrite:
                    raise StoreConfigMismatch(
                        f"a store appeared at {path} while this one was being "
                        "created (another process?); nothing was replaced."
                    )
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

    def done_chunk_indices(self) -> np.ndarray:
        """Indices of the chunks already written, ascending (int64). Reads
        only the status chunks on disk: memory grows with the done chunks,
        not with the networks (see `sleepjax.sweep._chunks`)."""
        return done_chunk_indices(self)

    def pending_chunks(self) -> list[int]:
        """Indices of chunks not yet done, ascending.

        A chunk is done when all its ``status`` values are >= 0; an unreadable
        status chunk (a torn write with an old zarr) counts as pending.
        """
        done = self.done_chunk_indices()
        return list(ChunkSchedule(self.n_networks, self.chunk_size, done).mine())

    def done_chunks(self) -> list[int]:
        """Indices of chunks already written, ascending."""
        return self.done_chunk_indices().tolist()

    # ---------------------------------------------------------------- write

    def check_generation(self) -> None:
        """Raise `StoreConfigMismatch` if the store at `path` is gone or is no
        longer the one this object opened (another process replaced it)."""
        meta = self.path / "zarr.json"
        try:
            attrs = json.loads(meta.read_text()).get("attributes", {})
        except FileNotFoundError:
            raise StoreConfigMismatch(
                f"the results store {self.path} was deleted while this run was "
                "writing it; this run stops (run the command again to start anew)."
            ) from None
        except (OSError, ValueError) as e:
            raise StoreConfigMismatch(
                f"the results store {self.path} cannot be read any more ({e}); "
                "this run stops."
            ) from None
        if attrs.get("generation") != self.generation:
            raise StoreConfigMismatch(
                f"the results store {self.path} was replaced by another process "
                "while this run was writing it; this run stops and leaves it alone."
            )

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
            raise ValueError(
                f"chunk {i} of {self.path} is already written: another process is "
                "writing this store (one writer per output folder)."
            )

        for name, arr in arrays.items():
            self._array(name)[sl] = arr
        if self.coords_by_chunk:  # this chunk's coordinates, before its status
            if self._coord_source is None:
                raise ValueError(
                    f"{self.path} stores its coordinates with each chunk: open it "
                    "with ResultStore.open_or_create(..., coords=...) to write"
                )
            self._array(_NETWORK)[sl] = np.arange(sl.start, sl.stop)
            for name, values in self._coord_source.block(sl.start, sl.stop).items():
                self._array(name)[sl] = values
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
        chunks = ChunkSchedule(
            self.n_networks, self.chunk_size, self.done_chunk_indices()
        )
        if chunks.n_pending:
            head = ", ".join(map(str, itertools.islice(chunks.mine(), 10)))
            more = " ..." if chunks.n_pending > 10 else ""
            raise ValueError(
                f"cannot finalize {self.path}: {chunks.n_pending} of "
                f"{self.n_chunks} chunks pending ({head}{more})"
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
        if name not in names and not self._is_dim_coord(name):
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

    def _is_dim_coord(self, name: str) -> bool:
        """Whether `name` is the coordinate of an extra dimension (e.g.
        `snapshot_time`, `plane`): a 1-D array along itself."""
        try:
            arr = self._group[name]
        except KeyError:
            return False
        return tuple(getattr(arr.metadata, "dimension_names", None) or ()) == (name,)

    def variable_attrs(self, name: str) -> dict[str, Any]:
        """The attributes of a data variable (`long_name`, `units`, ...) or of
        a dimension's coordinate (`time`, `snapshot_time`)."""
        if name not in self.variables and (
            name == _NETWORK or not self._is_dim_coord(name)
        ):
            raise ValueError(
                f"no variable {name!r}; this store has {list(self.variables)}"
            )
        return dict(self._array(name).attrs)

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
