"""Dotted paths into parameter pytrees ("a_P", "plasticity.rules.0.beta"):
how fits choose what to train and sweeps what to vary."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Sequence

import equinox as eqx
import jax.numpy as jnp


def _path_parts(path: str) -> list[str]:
    if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
        raise ValueError(
            f"a parameter path must be a dotted name such as 'a_P' or "
            f"'model.plasticity.beta'; got {path!r}."
        )
    return path.split(".")


def _children(node) -> list[str]:
    if isinstance(node, dict):
        return [str(k) for k in node]
    if isinstance(node, list | tuple):
        return [str(i) for i in range(len(node))]
    if dataclasses.is_dataclass(node):
        return [f.name for f in dataclasses.fields(node)]
    return []


def _step(node, part: str, done: str):
    if isinstance(node, dict):
        if part in node:
            return node[part]
    elif isinstance(node, list | tuple):
        if part.isdigit() and int(part) < len(node):
            return node[int(part)]
    elif dataclasses.is_dataclass(node) and part in _children(node):
        return getattr(node, part)
    names = _children(node)
    close = difflib.get_close_matches(part, names, n=1)
    where = f"in `{done}`" if done else "at the top level"
    hint = f" Did you mean {close[0]!r}?" if close else ""
    valid = f" Valid names: {', '.join(names)}." if names else ""
    raise ValueError(
        f"parameter path: no {part!r} {where} ({type(node).__name__}).{hint}{valid}"
    )


@dataclasses.dataclass(frozen=True)
class PathGetter:
    """`where` function for a dotted path (attributes, dict keys, list indices).

    Hashable and compared by path, so two fits of the same parameters share
    their compiled step."""

    path: str

    def __post_init__(self):
        _path_parts(self.path)

    def __call__(self, tree):
        node, done = tree, ""
        for part in self.path.split("."):
            node = _step(node, part, done)
            done = f"{done}.{part}" if done else part
        return node


def path_getter(path: str) -> PathGetter:
    """`where` function for a dotted path (see `PathGetter`)."""
    return PathGetter(path)


def set_leaves(tree, wheres: Sequence[Callable], values: Sequence):
    """`tree` with the leaf each `where` function selects replaced by the
    matching value (cast to that leaf's dtype and shape)."""
    for where, v in zip(wheres, values, strict=True):
        old = where(tree)
        tree = eqx.tree_at(where, tree, jnp.asarray(v, old.dtype).reshape(old.shape))
    return tree
