"""Initial states from files: `[run] initial_state` replaces leaves of the
state a protocol builds (e.g. one's own connectivity W) with arrays read from
`.npy` or `.npz` files.

In a configuration:

    [run]
    initial_state = "w0.npz"                # its arrays, named by state leaf
    initial_state = { W = "w0.npy" }        # one file per leaf

A leaf is named by its path in the state pytree without the leading dot
(`W`, `neurons`, `rules[1]`; a state that is one array is `state`). Every
name must be a leaf of the protocol's initial state, with its shape; values
must be finite. The same arrays start every network of a sweep. Relative
paths are read from the configuration file's folder. The configuration that
results stores keep names each file by its absolute path and its SHA-256, so
a run resumed after the file changed is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ConfigError, suggest

KEY = "[run] initial_state"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entries(value: Any) -> dict[str, dict]:
    """`{name or "": {"path": ..., "sha256": ... or None}}` from the config
    value (a path, a table of paths, or the resolved form with digests)."""
    if isinstance(value, str):
        return {"": {"path": value, "sha256": None}}
    if isinstance(value, Mapping):
        if set(value) <= {"path", "sha256"} and "path" in value:
            return {"": {"path": value["path"], "sha256": value.get("sha256")}}
        out = {}
        for name, v in value.items():
            if isinstance(v, str):
                out[name] = {"path": v, "sha256": None}
            elif isinstance(v, Mapping) and "path" in v:
                out[name] = {"path": v["path"], "sha256": v.get("sha256")}
            else:
                raise ConfigError(
                    f"{KEY}.{name} must be the path of a .npy file, got {v!r}."
                )
        if not out:
            raise ConfigError(f"{KEY} is an empty table: name a file per state leaf.")
        return out
    raise ConfigError(
        f"{KEY} must be the path of a .npz file or a table of .npy paths by state "
        f'leaf (e.g. {{ W = "w0.npy" }}), got {value!r}.'
    )


def read_initial(value: Any, base: Path | None) -> tuple[dict[str, np.ndarray], Any]:
    """Read the files `value` names: `(arrays by leaf name, resolved value)`.

    The resolved value has absolute paths and each file's SHA-256; a value
    that already carries a digest must match the file (`ConfigError`
    otherwise). Missing or unreadable files, a `.npz` for one leaf or a
    `.npy` for all, and non-finite values are `ConfigError`s."""
    arrays: dict[str, np.ndarray] = {}
    resolved: dict[str, Any] = {}
    for name, entry in _entries(value).items():
        where = f"{KEY}.{name}" if name else KEY
        if not isinstance(entry["path"], str) or not entry["path"]:
            raise ConfigError(f"{where} must be a file path, got {entry['path']!r}.")
        path = Path(entry["path"]).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        path = path.resolve()
        if not path.is_file():
            raise ConfigError(f"{where}: file not found: {path}")
        digest = _digest(path)
        if entry["sha256"] is not None and entry["sha256"] != digest:
            raise ConfigError(
                f"{where}: {path} has changed since these results were started "
                "(its SHA-256 differs); restore it, or start a new run "
                "(--overwrite replaces the old results)."
            )
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ConfigError(f"{where}: cannot read {path}: {e}") from None
        if name:
            if not isinstance(data, np.ndarray):
                raise ConfigError(
                    f"{where}: {path} holds several arrays (.npz); name one .npy "
                    "file per leaf, or give the .npz itself as initial_state."
                )
            found = {name: data}
        else:
            if isinstance(data, np.ndarray):
                raise ConfigError(
                    f"{where}: {path} is one array (.npy); say which leaf it is, "
                    f'e.g. initial_state = {{ W = "{entry["path"]}" }}.'
                )
            with data:
                found = {k: data[k] for k in data.files}
            if not found:
                raise ConfigError(f"{where}: {path} holds no arrays.")
        for k, a in found.items():
            if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
                raise ConfigError(f"{where}: array {k!r} is not numeric ({a.dtype}).")
            if not np.all(np.isfinite(a)):
                raise ConfigError(f"{where}: array {k!r} has NaN or Inf values.")
        arrays.update(found)
        record = {"path": str(path), "sha256": digest}
        if name:
            resolved[name] = record
        else:
            resolved = record
    return arrays, resolved


def leaf_names(state) -> dict[str, Any]:
    """`{name: leaf}` of a state pytree, named as in the module docs."""
    import jax.tree_util as jtu

    leaves = jtu.tree_flatten_with_path(state)[0]
    return {(jtu.keystr(p).lstrip(".") or "state"): leaf for p, leaf in leaves}


def apply_initial(state, arrays: Mapping[str, np.ndarray]):
    """`state` with the named leaves replaced by `arrays` (cast to each leaf's
    dtype). `ConfigError` for a name that is no leaf or a wrong shape."""
    import jax.numpy as jnp
    import jax.tree_util as jtu

    names = leaf_names(state)
    for k, a in arrays.items():
        if k not in names:
            same = [n for n in names if n.lower() == k.lower()]
            hint = f" (did you mean {same[0]!r}?)" if same else suggest(k, names)
            raise ConfigError(
                f"{KEY}: {k!r} is not a leaf of this protocol's initial state"
                f"{hint}; its leaves are {', '.join(names)}."
            )
        want = tuple(np.shape(names[k]))
        if tuple(a.shape) != want:
            raise ConfigError(
                f"{KEY}: {k!r} has shape {tuple(a.shape)}, but this protocol's "
                f"initial state needs {want}."
            )
    leaves, treedef = jtu.tree_flatten_with_path(state)
    new = []
    for p, leaf in leaves:
        k = jtu.keystr(p).lstrip(".") or "state"
        new.append(jnp.asarray(arrays[k], dtype=leaf.dtype) if k in arrays else leaf)
    return jtu.tree_unflatten(treedef, new)
