"""The shape of the package: generic layers name no model, and no file is huge.

Generic layers (config, sweep, fit, plot, cli, the registry and the spec
types) must work for any registered model: they may not import
`sleepjax.models`, and their code may not name a registered model, one of
its protocols, option choices (rule names, variants) or observables. A model
that needs a special case there is missing a general part.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jax
import jax.random as jr
import pytest

import sleepjax as sj

PKG = Path(sj.__file__).parent
GENERIC = ("config.py", "cli.py", "_registry.py", "_spec.py", "sweep", "fit", "plot")


def _generic_files() -> list[Path]:
    out = []
    for g in GENERIC:
        p = PKG / g
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return out


def _imports(tree: ast.AST, path: Path) -> list[str]:
    """Absolute names of every module `path` imports."""
    pkg = ["sleepjax", *path.relative_to(PKG).parts[:-1]]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            names.append(mod)
            names += [f"{mod}.{a.name}" for a in node.names]
    return names


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            body = node.body
            if body and isinstance(body[0], ast.Expr):
                if isinstance(body[0].value, ast.Constant):
                    ids.add(id(body[0].value))
    return ids


def _model_words() -> set[str]:
    """Names that belong to a model: its name, protocols, option choices
    (from `Literal` options) and observables (traced, nothing run)."""
    words = set()
    for spec in sj.registered_models().values():
        words.add(spec.name)
        words.update(spec.protocols)
        for f in spec.option_fields.values():
            choices = getattr(f.domain, "choices", ())
            words.update(c for c in choices if isinstance(c, str) and len(c) > 3)
        for proto in spec.protocols.values():
            try:
                exp = jax.eval_shape(
                    lambda p=proto, s=spec: p(s.options(), s.params(), jr.key(0))
                )
            except (ValueError, TypeError):
                continue
            words.update(exp.observe.names)
    return words


def test_generic_layers_do_not_import_models():
    bad = []
    for path in _generic_files():
        tree = ast.parse(path.read_text())
        for name in _imports(tree, path):
            if name == "sleepjax.models" or name.startswith("sleepjax.models."):
                bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert not bad, "\n".join(bad)


def test_generic_layers_name_no_model_protocol_choice_or_observable():
    words = _model_words()
    assert {"susman", "erosion", "mem_im", "rate_control"} <= words  # the check works
    bad = []
    for path in _generic_files():
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docs and node.value in words:
                    bad.append(f"{path.relative_to(PKG)}:{node.lineno} {node.value!r}")
            elif isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name in words:
                    bad.append(f"{path.relative_to(PKG)}:{node.lineno} {name}")
    assert not bad, "\n".join(bad)


def test_the_check_catches_a_violation(tmp_path):
    """The walker sees relative imports of the models package."""
    fake = PKG / "sweep" / "_fake.py"
    tree = ast.parse("from ..models import susman\nfrom .. import models\n")
    names = _imports(tree, fake)
    assert "sleepjax.models" in names and "sleepjax.models.susman" in names


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: p.name)
def test_no_package_file_over_600_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= 600, f"{path.relative_to(PKG)} has {n} lines"
