"""The model registry: every model that configs, sweeps, fits and the CLI know.

Models come from two places:

- entry points in the group ``sleepjax.models`` (each names a `ModelSpec`):
  the built-in models are declared this way in sleepjax's own
  `pyproject.toml`, and any installed package can add its own;
- `register(spec)` at run time (a model defined in a script or a test).
"""

from __future__ import annotations

from importlib import metadata

from ._errors import ConfigError, unknown
from ._spec import ModelSpec

GROUP = "sleepjax.models"
_MODELS: dict[str, ModelSpec] = {}
_FAILED: dict[str, str] = {}
_LOADED = False


def _load_entry_points() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for ep in metadata.entry_points(group=GROUP):
        if ep.name in _MODELS:
            continue
        # One broken model (a missing or failing module) must not hide the
        # others: it is reported when it is asked for.
        try:
            spec = ep.load()
        except Exception as e:  # noqa: BLE001 - any import failure
            _FAILED[ep.name] = f"{ep.value} failed to import: {type(e).__name__}: {e}"
            continue
        if not isinstance(spec, ModelSpec):
            _FAILED[ep.name] = f"{ep.value} is a {type(spec).__name__}, not a ModelSpec"
            continue
        _MODELS[spec.name] = spec


def register(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Make a model available to configs, sweeps, fits and the CLI.

    Raises ValueError if another model already has the name (unless
    `replace`). Returns `spec`, so it can decorate a module-level assignment.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register() takes a ModelSpec, got {type(spec).__name__}.")
    _load_entry_points()
    old = _MODELS.get(spec.name)
    if old is not None and old is not spec and not replace:
        raise ValueError(
            f"a model named {spec.name!r} is already registered; pass replace=True "
            "or choose another name."
        )
    _MODELS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a model registered at run time (e.g. at the end of a test)."""
    _load_entry_points()
    _MODELS.pop(name, None)


def registered_models() -> dict[str, ModelSpec]:
    """Every registered model, by name."""
    _load_entry_points()
    return dict(_MODELS)


def get_model(name: str | None = None) -> ModelSpec:
    """The model named `name` (`None`: the default model). `ConfigError` with
    the nearest valid name if there is none."""
    _load_entry_points()
    if name is None:
        defaults = [s for s in _MODELS.values() if s.default]
        if len(defaults) != 1:
            raise ConfigError(
                "[model] needs a name: one of "
                f"{', '.join(sorted(_MODELS)) or '(none registered)'}."
            )
        return defaults[0]
    if not isinstance(name, str):
        raise ConfigError(f"[model] name must be a string, got {name!r}.")
    if name not in _MODELS:
        if name in _FAILED:
            raise ConfigError(f"model {name!r} could not be loaded: {_FAILED[name]}")
        if not _MODELS:
            raise ConfigError(
                f"unknown model {name!r}: no models are registered. Is sleepjax "
                "installed (pip install -e .)? Its built-in models are entry points."
            )
        raise unknown("model", name, _MODELS)
    return _MODELS[name]
