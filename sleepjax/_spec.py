"""What a model declares so that config, sweep, fit, plot and cli can run it.

A model package exports one `ModelSpec`: its static options (a frozen
dataclass), its numeric parameters (an `AbstractParams`: every field a pytree
leaf, with its domain declared once by `param`), its protocols (builders that
return an `Experiment`), the observables those experiments save (an
`AbstractObservables`), and optional reports (figures and summary tables).
`sleepjax.register(spec)` makes it available to every generic layer.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu

from ._errors import (
    ConfigError,
    Domain,
    Integer,
    Real,
    annotation_domain,
    annotation_domains,
    as_param,
    unknown,
)


# ---------------------------------------------------------------- parameters
def param(default, domain: Domain | None = None, *, unit: str = "", doc: str = ""):
    """A numeric model parameter: an `AbstractParams` field that is a pytree
    leaf, with its domain (default: any finite number), unit and meaning
    declared once, here."""
    return eqx.field(
        converter=lambda v: as_param(v, "parameter"),
        default=default,
        metadata={"domain": domain or Real(), "unit": unit, "doc": doc},
    )


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """A declared option or parameter: default, domain, unit and meaning."""

    name: str
    default: Any
    domain: Domain | None
    unit: str = ""
    doc: str = ""


class AbstractParams(eqx.Module):
    """Numeric parameters of a model; every field is a leaf (sweep it with
    `jax.vmap`, fit it with `jax.grad`). Declare fields with `param(...)`:
    constructing with a value outside a field's domain raises `ConfigError`."""

    def __check_init__(self):
        for info in params_info(type(self)).values():
            info.domain.check(getattr(self, info.name), f"parameter `{info.name}`")


def params_info(cls) -> dict[str, FieldInfo]:
    """`{name: FieldInfo}` of an `AbstractParams` class."""
    out = {}
    for f in dataclasses.fields(cls):
        md = f.metadata or {}
        out[f.name] = FieldInfo(
            f.name,
            f.default,
            md.get("domain", Real()),
            md.get("unit", ""),
            md.get("doc", ""),
        )
    return out


def options_info(cls) -> dict[str, FieldInfo]:
    """`{name: FieldInfo}` of an options dataclass: the domain comes from the
    field's metadata, else from a `Literal` annotation (a choice), else from
    an `int` annotation (an integer)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = {}
    for f in dataclasses.fields(cls):
        md = f.metadata or {}
        hint = hints.get(f.name)
        domain = md.get("domain") or annotation_domain(hint)
        if domain is None and hint is int:
            domain = Integer()
        out[f.name] = FieldInfo(
            f.name, f.default, domain, md.get("unit", ""), md.get("doc", "")
        )
    return out


def option(default, domain: Domain | None = None, *, unit: str = "", doc: str = ""):
    """A static option field (a `dataclasses.field`) with its domain, unit and
    meaning."""
    return dataclasses.field(
        default=default, metadata={"domain": domain, "unit": unit, "doc": doc}
    )


# --------------------------------------------------------------- observables
class AbstractObservables(eqx.Module):
    """The summaries an experiment saves: `observe(t, state, model) -> dict`.

    Generic layers read only this interface:

    - `names`: the observables it returns (its static configuration decides).
    - `available()`: what `differentiable` can give (default: `names`).
    - `dims(name)`: names of an observable's dimensions after time (default:
      `<name>_dim<i>`).
    - `attrs(name)`: `long_name`, `units`, `description` of an observable.
    - `differentiable(names)`: a version that computes `names` and can be
      differentiated (used by `sleepjax.fit`); the default returns `self`
      when it already is.
    - `families`: named groups of observables (e.g. "weights": w_mean, w_std)
      usable wherever a loss takes names; `default_fit`: the names a fit reads
      when none are given; `headline`: the names a sweep's summary table shows
      first; `time_units`: the unit of the save times.
    - For the state saved with `[run] snapshot_times` / `save_final`:
      `state_dims` (`{leaf: dimension names}`) and `state_units` (`{leaf:
      (long_name, units, description)}`); `eigenvalue_marks` (`{label:
      (real part, imaginary part)}`: observables that are eigenvalues of a
      saved matrix, marked on `sleepjax plot --kind spectrum`).
    """

    families: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    default_fit: ClassVar[tuple[str, ...]] = ()
    headline: ClassVar[tuple[str, ...]] = ()
    time_units: ClassVar[str] = ""
    units: ClassVar[Mapping[str, tuple[str, str, str]]] = {}
    state_dims: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    state_units: ClassVar[Mapping[str, tuple[str, str, str]]] = {}
    eigenvalue_marks: ClassVar[Mapping[str, tuple[str, str]]] = {}

    @abc.abstractmethod
    def __call__(self, t, y, model) -> dict[str, jax.Array]:
        """The observables at time `t`."""

    @property
    @abc.abstractmethod
    def names(self) -> tuple[str, ...]:
        """The names of the observables returned."""

    def available(self) -> tuple[str, ...]:
        """The names `differentiable` can compute (default: `names`)."""
        return self.names

    def applies(self, name: str) -> bool:
        """Whether `name` means something for this experiment (summaries leave
        out those that do not; default: all do)."""
        return True

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        """Dimension names of `name` after the time axis (`ndim` of them)."""
        return tuple(f"{name}_dim{i}" for i in range(ndim))

    def attrs(self, name: str) -> dict[str, str]:
        """CF-style attributes: `long_name`, `units`, `description`."""
        long, units, desc = self.units.get(name, (name, "", ""))
        return {"long_name": long, "units": units, "description": desc}

    def differentiable(self, names=None) -> AbstractObservables:
        """Observables computing `names` (default: all of `self.names`) that
        can be differentiated. The default accepts a subset and returns
        `self` (override when the saved values use non-differentiable
        operations)."""
        missing = [n for n in (names or ()) if n not in self.available()]
        if missing:
            raise ValueError(
                f"observable(s) {missing} are not saved by this experiment (it "
                f"saves {self.available()})."
            )
        return self

    def expand(self, names) -> tuple[str, ...]:
        """Names with family names replaced by their members (in order, once)."""
        if isinstance(names, str):
            names = (names,)
        out: list[str] = []
        for nm in names:
            for x in self.families.get(nm, (nm,)):
                if x not in out:
                    out.append(x)
        return tuple(out)


# ----------------------------------------------------------------- protocols
@dataclasses.dataclass(frozen=True)
class Protocol:
    """An experiment builder of a model, and how configs may call it.

    **Fields:**

    - `build`: `build(options, params, key, **kwargs) -> Experiment`
      (`build(options, key, **kwargs)` when `uses_params` is False). Its
      keyword-only arguments, their defaults and annotated domains
      (`Annotated[float, Positive()]`, `Literal[...]`) are the protocol's
      settings.
    - `uses_params`: whether the builder takes the model's parameters.
    - `numeric`: keyword arguments that only enter array arithmetic, so they
      may vary per network inside one compiled batch (sweeps vmap them).
    - `description`: one line (default: the builder's first docstring line).
    """

    build: Callable
    uses_params: bool = True
    numeric: frozenset[str] = frozenset()
    description: str = ""

    def __post_init__(self):
        if not self.description:
            doc = inspect.getdoc(self.build) or ""
            object.__setattr__(self, "description", doc.split("\n\n")[0])
        bad = set(self.numeric) - set(self.kwargs)
        if bad:
            raise ValueError(f"Protocol: numeric {sorted(bad)} are not keywords.")

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword settings and their defaults."""
        sig = inspect.signature(self.build)
        return {
            k: p.default for k, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY
        }

    def domains(self) -> dict[str, tuple[Domain, ...]]:
        """Annotated domains of the keyword settings (one or more each)."""
        sig = inspect.signature(self.build, eval_str=True)
        out = {}
        for k, p in sig.parameters.items():
            if p.kind == p.KEYWORD_ONLY:
                ds = annotation_domains(p.annotation)
                if ds:
                    out[k] = ds
        return out

    def __call__(self, options, params, key, **kwargs):
        if self.uses_params:
            return self.build(options, params, key, **kwargs)
        return self.build(options, key, **kwargs)


# -------------------------------------------------------------------- reports
@dataclasses.dataclass(frozen=True)
class Report:
    """A protocol's figure and summary table, drawn from a results store.

    - `draw(view) -> (figure, rows)`: `view` is a `sleepjax.plot.StoreView`;
      `rows` a list of dicts (the summary table).
    - `notes(view) -> str`: text printed under the table (optional).
    """

    draw: Callable
    notes: Callable | None = None


# ---------------------------------------------------------------------- spec
@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything the generic layers need to know about one model.

    **Fields:**

    - `name`: the name configs use (`[model] name = ...`).
    - `title`: one line: the model and its source.
    - `options`: a frozen dataclass of static settings (sizes, variants).
    - `params`: an `AbstractParams` class (numeric leaves with domains).
    - `protocols`: `{name: Protocol}`.
    - `reports`: `{protocol name: Report}` (optional per protocol).
    - `default`: the model used when a config names none (one at most).
    """

    name: str
    title: str
    options: type
    params: type
    protocols: Mapping[str, Protocol]
    reports: Mapping[str, Report] = dataclasses.field(default_factory=dict)
    default: bool = False

    def __post_init__(self):
        if not dataclasses.is_dataclass(self.options):
            raise TypeError(f"ModelSpec {self.name!r}: `options` must be a dataclass.")
        if not (
            isinstance(self.params, type) and issubclass(self.params, AbstractParams)
        ):
            raise TypeError(
                f"ModelSpec {self.name!r}: `params` must be an AbstractParams class."
            )
        for k, p in self.protocols.items():
            if not isinstance(p, Protocol):
                raise TypeError(
                    f"ModelSpec {self.name!r}: protocol {k!r} is not a Protocol."
                )
        bad = set(self.reports) - set(self.protocols)
        if bad:
            raise ValueError(
                f"ModelSpec {self.name!r}: reports for unknown {sorted(bad)}."
            )

    @property
    def option_fields(self) -> dict[str, FieldInfo]:
        return options_info(self.options)

    @property
    def param_fields(self) -> dict[str, FieldInfo]:
        return params_info(self.params)

    def protocol(self, name: str) -> Protocol:
        if name not in self.protocols:
            raise unknown(f"protocol of model {self.name!r}", name, self.protocols)
        return self.protocols[name]

    def check_param(self, name: str, value, where: str = "[model]"):
        """Validate one numeric parameter value against its declared domain."""
        info = self.param_fields.get(name)
        if info is None:
            raise unknown(f"parameter of model {self.name!r}", name, self.param_fields)
        return info.domain.check(value, f"{where} {name}")


# ------------------------------------------------------------ unused parameters
def unused_parameters(build: Callable, params: AbstractParams) -> list[str]:
    """Parameters that do not reach the experiment `build(params)` returns.

    Traces `build` once (nothing is compiled or run) and follows the data
    flow from every numeric parameter to the experiment's arrays: a parameter
    that no array depends on is unused by these options and this protocol (a
    sweep over it would be a silent no-op)."""
    names = list(params_info(type(params)))
    values = {n: getattr(params, n) for n in names}

    def f(vals):
        p = eqx.tree_at(
            lambda q: [getattr(q, n) for n in names], params, [vals[n] for n in names]
        )
        exp = build(p)
        return [x for x in jtu.tree_leaves(exp) if eqx.is_array(x)]

    closed = jax.make_jaxpr(f)(values)
    jaxpr = closed.jaxpr
    live = {id(v) for v in jaxpr.outvars if _is_var(v)}
    for eqn in reversed(jaxpr.eqns):
        if any(id(v) in live for v in eqn.outvars):
            live.update(id(v) for v in eqn.invars if _is_var(v))
    order = sorted(names)  # dicts flatten in key order
    return [n for n, v in zip(order, jaxpr.invars, strict=True) if id(v) not in live]


def _is_var(v) -> bool:
    return not hasattr(v, "val")  # jax.core.Literal has `val`; variables do not


def default_value(info: FieldInfo):
    """A field's default as a plain Python value (arrays become floats)."""
    v = info.default
    if isinstance(v, jax.Array):
        return float(jnp.asarray(v))
    return v


def check_options(spec: ModelSpec, values: Mapping[str, Any], where: str = "[model]"):
    """Build the options dataclass from `values`, each checked against its
    declared domain first (`ConfigError` naming the key)."""
    fields = spec.option_fields
    kw = {}
    for k, v in values.items():
        d = fields[k].domain
        kw[k] = v if d is None else d.check(v, f"{where} {k}")
    try:
        return spec.options(**kw)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{where} {e}") from None
