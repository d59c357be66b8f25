"""TOML run configurations: parse, validate eagerly, and build experiments.

A configuration has these sections (see `examples/*.toml`):

- `[model]`: `name` (a registered model, `sleepjax models` lists them; the
  default model when omitted) plus any of its options (static structure) and
  parameters (numbers).
- `[protocol]`: `name` (one of the model's protocols) plus that protocol's
  keyword settings.
- `[run]`: seeds, seed, solver ("euler" | "multirate"), substeps, prng,
  chunk_size, memory_budget_mb, float64, initial_state (`sleepjax._initial`),
  snapshot_times, snapshot_leaves, save_final (`sleepjax._snapshots`).
- `[sweep]`: parameters to sweep (see `sleepjax.sweep`).
- `[fit]`: fitting settings (see `sleepjax.fit`).

Everything is checked before anything is compiled or written: unknown keys
(with the nearest valid name), unknown rule or protocol names, non-positive dt
or horizons, NaN values, wrong types.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import ConfigError, InRun, OnGrid, suggest, unknown
from ._registry import get_model
from ._spec import ModelSpec, Protocol, check_options, unused_parameters

SECTIONS = ("model", "protocol", "run", "sweep", "fit")

__all__ = ["ConfigError", "RunConfig", "RunSettings", "load", "parse", "suggest"]


def _unknown(kind: str, name: str, valid) -> ConfigError:
    return unknown(kind, name, valid)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How to run: seeds, solver, PRNG, chunking, precision."""

    seeds: int = 1
    seed: int = 0
    solver: str = "euler"
    substeps: int = 10
    prng: str = "threefry2x32"
    chunk_size: int = 0  # 0: automatic from the memory budget
    memory_budget_mb: float = 2048.0
    float64: bool = False
    # leaves of the initial state read from files (sleepjax._initial)
    initial_state: Any = None
    # the state saved next to the observables (sleepjax._snapshots)
    snapshot_times: Any = None
    snapshot_leaves: tuple = ()
    save_final: bool = False

    def __post_init__(self):
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise ConfigError(
                f"[run] seeds must be a positive integer, got {self.seeds!r}."
            )
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError(
                f"[run] seed must be an integer in [0, 2**32), got {self.seed!r} "
                "(larger seeds would alias smaller ones)."
            )
        if self.solver not in ("euler", "multirate"):
            raise _unknown("[run] solver", self.solver, ("euler", "multirate"))
        if not isinstance(self.substeps, int) or self.substeps < 1:
            raise ConfigError(
                f"[run] substeps must be an integer >= 1, got {self.substeps!r}."
            )
        if self.prng not in ("threefry2x32", "rbg", "unsafe_rbg"):
            raise _unknown(
                "[run] prng", self.prng, ("threefry2x32", "rbg", "unsafe_rbg")
            )
        if not isinstance(self.chunk_size, int) or self.chunk_size < 0:
            raise ConfigError(
                f"[run] chunk_size must be an integer >= 0 (0 = automatic), got "
                f"{self.chunk_size!r}."
            )
        if not (
            isinstance(self.memory_budget_mb, int | float) and self.memory_budget_mb > 0
        ):
            raise ConfigError(
                f"[run] memory_budget_mb must be > 0, got {self.memory_budget_mb!r}."
            )
        from ._snapshots import check_settings

        check_settings(self.snapshot_times, self.snapshot_leaves, self.save_final)

    def solver_object(self):
        import diffrax

        from ._solvers import MultirateEuler

        if self.solver == "multirate":
            return MultirateEuler(self.substeps)
        return diffrax.Euler()


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A parsed, validated configuration.

    **Fields:** `model` (its name), `spec` (its `ModelSpec`), `options`,
    `params` (the `[model]` numbers given, by name), `protocol` (its name),
    `protocol_kwargs` (the `[protocol]` settings given), `run`, `sweep`,
    `fit` (the raw sections), `raw` (the whole document) and `initial` (the
    arrays `[run] initial_state` names, by state leaf, or None).
    """

    model: str
    spec: ModelSpec
    options: Any
    params: dict[str, float]
    protocol: str
    protocol_kwargs: dict[str, Any]
    run: RunSettings
    sweep: dict[str, Any] | None
    fit: dict[str, Any] | None
    raw: dict[str, Any]
    initial: Any = None

    @property
    def protocol_spec(self) -> Protocol:
        return self.spec.protocols[self.protocol]

    def default_params(self):
        """The model's parameters with this config's values."""
        return self.spec.params(**self.params)

    def check_build(self, options=None, protocol_kwargs=None):
        """Trace the builder once (no compilation, nothing run) so that structural
        problems (shapes, sizes, time grids) surface as a ConfigError before any
        work. Returns the experiment's shapes."""
        import jax

        try:
            exp = jax.eval_shape(
                lambda: self.build(options=options, protocol_kwargs=protocol_kwargs)
            )
        except ConfigError as e:  # raised while tracing: without JAX's note
            raise ConfigError(str(e).split("\n--------------------\n")[0]) from None
        except (ValueError, TypeError) as e:
            hint = ""
            if "steps" in str(e):
                hint = f" (set by {self._keys_of_times()})"
            raise ConfigError(f"the configuration cannot be built: {e}{hint}") from None
        kw = {**self.protocol_kwargs, **(protocol_kwargs or {})}
        checks = [(k, d) for k, ds in self.protocol_spec.domains().items() for d in ds]
        for k, d in checks:
            if k not in kw or kw[k] is None:
                continue
            if isinstance(d, OnGrid) and not d.on_grid(kw[k], exp.dt):
                raise ConfigError(
                    f"[protocol] {k} = {kw[k]} is not a whole number of steps "
                    f"dt = {exp.dt}."
                )
            if isinstance(d, InRun) and not d.inside(kw[k], exp.t0, exp.t1):
                raise ConfigError(
                    f"[protocol] {k} = {kw[k]} lies outside the run "
                    f"[{exp.t0:g}, {exp.t1:g}]: it would never take effect."
                )
        self._check_size(exp)
        self._check_state_outputs(exp)
        return exp

    def _check_state_outputs(self, exp) -> None:
        """Snapshot times and leaves fit this run; their size fits the budget."""
        from ._snapshots import StateOutputs

        outs = StateOutputs.of(self.run, exp)
        if outs is None:
            return
        budget = self.run.memory_budget_mb * 2**20
        if outs.nbytes() > budget / 4:
            raise ConfigError(
                f"saving {', '.join(outs.leaves)} at {len(outs.times or ())} "
                f"snapshot time(s){' and at the end' if outs.final else ''} needs "
                f"{outs.nbytes() / 2**20:.4g} MiB per network, more than a quarter "
                f"of the memory budget [run] memory_budget_mb = "
                f"{self.run.memory_budget_mb:g} MiB; take fewer snapshots "
                "([run] snapshot_times) or fewer leaves ([run] snapshot_leaves)."
            )

    def _keys_of_times(self) -> str:
        """The config keys that set the step and the horizon (for messages)."""
        keys = []
        for section in ("model", "protocol"):
            for k, v in dict(self.raw.get(section, {})).items():
                if k == "dt" or k.startswith("t_") or k == "t1":
                    keys.append(f"[{section}] {k} = {v}")
        return ", ".join(keys) or "the defaults"

    def _check_size(self, exp) -> None:
        """Refuse a network that cannot fit the memory budget, naming the
        options that make it large (before anything is compiled)."""
        import jax.tree_util as jtu
        import numpy as np

        leaves = [
            x
            for x in jtu.tree_leaves((exp.state0, exp.model))
            if hasattr(x, "shape") and hasattr(x, "dtype")
        ]
        if not leaves:
            return

        def itemsize(dtype) -> int:
            # typed PRNG keys (jax.random.key) are not NumPy dtypes
            return getattr(dtype, "itemsize", None) or 8

        nbytes = sum(int(np.prod(x.shape)) * itemsize(x.dtype) for x in leaves)
        budget = self.run.memory_budget_mb * 2**20
        # a step holds the state, its derivative and its noise at least
        need = 3 * nbytes
        if need <= budget:
            return
        big = max(leaves, key=lambda x: int(np.prod(x.shape)))
        sizes = set(big.shape)
        keys = [
            f"[model] {k} = {v}"
            for k, v in dataclasses.asdict(self.options).items()
            if isinstance(v, int) and not isinstance(v, bool) and v in sizes
        ]
        by = f", from {', '.join(keys)}" if keys else ""
        raise ConfigError(
            f"one network needs about {need / 2**30:.3g} GiB (its state holds an "
            f"array of shape {tuple(big.shape)}{by}), more than the memory budget "
            f"[run] memory_budget_mb = {self.run.memory_budget_mb:g} MiB; use a "
            "smaller network or raise the budget."
        )

    def build(self, params=None, key=None, *, options=None, protocol_kwargs=None):
        """The `Experiment` of one network (params/key may be batched under vmap)."""
        import jax.random as jr

        params = self.default_params() if params is None else params
        key = jr.key(self.run.seed) if key is None else key
        opts = self.options if options is None else options
        kw = dict(self.protocol_kwargs)
        kw.update(protocol_kwargs or {})
        exp = self.protocol_spec(opts, params, key, **kw)
        if self.initial:
            import equinox as eqx

            from ._initial import apply_initial

            state0 = apply_initial(exp.state0, self.initial)
            exp = eqx.tree_at(lambda e: e.state0, exp, state0)
        return exp


def _check_number(where: str, value, *, positive=False, nonneg=False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ConfigError(f"{where} must be finite, got {value!r}.")
    if positive and value <= 0:
        raise ConfigError(f"{where} must be > 0, got {value!r}.")
    if nonneg and value < 0:
        raise ConfigError(f"{where} must be >= 0, got {value!r}.")
    return float(value)


class _Problems:
    """Collects the problems of a configuration, to report them together."""

    def __init__(self):
        self.items: list[str] = []

    def check(self, fn, *args, **kwargs):
        """`fn(*args, **kwargs)`, or `None` with its ConfigError recorded."""
        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            self.items.append(str(e))
            return None

    def raise_if_any(self) -> None:
        if len(self.items) == 1:
            raise ConfigError(self.items[0])
        if self.items:
            raise ConfigError(
                f"{len(self.items)} problems in the configuration:\n  - "
                + "\n  - ".join(self.items)
            )


def parse_model(section: Mapping[str, Any], problems: _Problems | None = None):
    """`(name, spec, options, params)` of a `[model]` section (every problem
    of a key recorded in `problems`, or the first raised)."""
    own = problems is None
    problems = _Problems() if own else problems
    sec = dict(section)
    spec = get_model(sec.pop("name", None))
    opt_fields, par_fields = spec.option_fields, spec.param_fields
    opt_kw, params = {}, {}
    n_before = len(problems.items)
    for k, v in sec.items():
        if k in opt_fields:
            d = opt_fields[k].domain
            if d is None:
                opt_kw[k] = v
            else:
                ok = problems.check(d.check, v, f"[model] {k}")
                if ok is not None:
                    opt_kw[k] = v
        elif k in par_fields:
            value = problems.check(spec.check_param, k, v)
            if value is not None:
                params[k] = value
        else:
            problems.items.append(
                str(_unknown("[model] key", k, list(opt_fields) + list(par_fields)))
            )
    opts = None
    if len(problems.items) == n_before:
        opts = problems.check(check_options, spec, opt_kw)
    if own:
        problems.raise_if_any()
    return spec.name, spec, opts, params


def _check_tuple_like(where: str, value, default: tuple):
    """A list shaped like `default`: numbers of the same count, or a list of such
    lists (e.g. `windows = [[500, 600], [1500, 1600]]`)."""
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{where} must be a non-empty list, got {value!r}.")
    if default and isinstance(default[0], tuple):
        return tuple(
            _check_tuple_like(f"{where}[{i}]", x, default[0])
            for i, x in enumerate(value)
        )
    if len(value) != len(default):
        raise ConfigError(
            f"{where} must have {len(default)} entries (like {list(default)}), got "
            f"{len(value)}: {value!r}."
        )
    out = tuple(_check_number(f"{where}[{i}]", x) for i, x in enumerate(value))
    if len(out) == 2 and not out[0] < out[1]:
        raise ConfigError(
            f"{where} must be an increasing pair (start < end), got {value!r}."
        )
    return out


def parse_protocol(
    section: Mapping[str, Any], spec: ModelSpec, problems: _Problems | None = None
) -> tuple[str, dict[str, Any]]:
    """`(name, settings)` of a `[protocol]` section: each setting checked by the
    type of its default and its declared domain (every problem recorded in
    `problems`, or the first raised)."""
    own = problems is None
    problems = _Problems() if own else problems
    name, kw = _parse_protocol_name(section, spec)
    proto = spec.protocols[name]
    valid = proto.kwargs
    domains = proto.domains()
    out = {}
    for k, v in kw.items():
        value = problems.check(_protocol_value, name, k, v, valid, domains)
        if value is not None or v is None:
            out[k] = value
    if own:
        problems.raise_if_any()
    return name, out


def _parse_protocol_name(section, spec):
    sec = dict(section)
    if "name" not in sec:
        raise ConfigError(
            f"[protocol] needs a name: one of {', '.join(spec.protocols)}."
        )
    name = sec.pop("name")
    if not isinstance(name, str):
        raise ConfigError(
            f"[protocol] name must be a string, one of {', '.join(spec.protocols)}; "
            f"got {name!r}."
        )
    if name not in spec.protocols:
        raise _unknown("protocol", name, spec.protocols)
    return name, sec


def _protocol_value(name, k, v, valid, domains):
    """One `[protocol]` setting, checked (ConfigError naming the key)."""
    if k not in valid:
        raise _unknown(f"[protocol] key for {name!r}", k, valid)
    if True:
        default = valid[k]
        where = f"[protocol] {k}"
        if isinstance(default, bool):
            if not isinstance(v, bool):
                raise ConfigError(f"{where} must be true or false, got {v!r}.")
        elif isinstance(default, int):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{where} must be an integer, got {v!r}.")
        elif isinstance(default, float) or default is None:
            if not (default is None and v is None):
                v = _check_number(where, v)
        elif isinstance(default, tuple):
            v = _check_tuple_like(where, v, default)
        elif isinstance(default, str) and not isinstance(v, str):
            raise ConfigError(f"{where} must be a string, got {v!r}.")
        if k in domains and v is not None:
            for d in domains[k]:
                v = d.check(v, where)
            if isinstance(default, int) and not isinstance(default, bool):
                v = int(v)
    return v


def parse(raw: Mapping[str, Any], base: Path | None = None) -> RunConfig:
    """Validate a configuration dict (as read from TOML) into a `RunConfig`.
    `base`: the folder relative file paths in it are read from (default: the
    working directory)."""
    if not isinstance(raw, Mapping):
        raise ConfigError("a configuration must be a TOML table.")
    problems = _Problems()
    for k in raw:
        if k not in SECTIONS:
            problems.items.append(str(_unknown("section", k, SECTIONS)))
        elif not isinstance(raw[k], Mapping):
            problems.items.append(f"[{k}] must be a table.")
    problems.raise_if_any()
    name, spec, opts, params = parse_model(raw.get("model", {}), problems)
    if "protocol" not in raw:
        problems.items.append(
            f"the configuration has no [protocol] section; add one with name = one "
            f"of {', '.join(spec.protocols)}."
        )
    else:
        protocol, kw = problems.check(
            parse_protocol, raw["protocol"], spec, problems
        ) or (
            None,
            None,
        )
    run_sec = dict(raw.get("run", {}))
    valid_run = {f.name for f in dataclasses.fields(RunSettings)}
    for k in list(run_sec):
        if k not in valid_run:
            problems.items.append(str(_unknown("[run] key", k, valid_run)))
            run_sec.pop(k)
    run = problems.check(RunSettings, **run_sec)
    initial = None
    if run is not None and run.initial_state is not None:
        from ._initial import read_initial

        initial, resolved = problems.check(read_initial, run.initial_state, base) or (
            None,
            None,
        )
        if resolved is not None:  # absolute paths and digests, for the stores
            raw = {**raw, "run": {**raw["run"], "initial_state": resolved}}
    problems.raise_if_any()
    try:
        spec.params(**params)
    except ValueError as e:
        raise ConfigError(f"[model] {e}") from None
    cfg = RunConfig(
        model=name,
        spec=spec,
        options=opts,
        params=params,
        protocol=protocol,
        protocol_kwargs=kw,
        run=run,
        sweep=dict(raw["sweep"]) if "sweep" in raw else None,
        fit=dict(raw["fit"]) if "fit" in raw else None,
        raw=dict(raw),
        initial=initial,
    )
    cfg.check_build()
    return cfg


def check_used(cfg: RunConfig, configs, names=(), *, where: str = "swept") -> None:
    """Refuse a `[model]` parameter that is set (in `cfg.params`) or named in
    `names` (swept, fitted: described by `where`) but that none of `configs`
    (the compiled groups of a sweep) uses: its options and protocol never read
    it, so sweeping or fitting it would be a silent no-op."""
    import jax.random as jr

    fields = cfg.spec.param_fields
    named = [n for n in dict.fromkeys([*cfg.params, *names]) if n in fields]
    if not named:
        return
    unused = set(named)
    for c in configs:
        key = jr.key(0, impl=c.run.prng)
        unused &= set(
            unused_parameters(lambda p, c=c, k=key: c.build(p, k), c.default_params())
        )
        if not unused:
            return
    n = sorted(unused)[0]
    how = where if n in names else "set in [model]"
    raise ConfigError(
        f"[model] {n} is {how} but not used by model {cfg.model!r} with these "
        f"options and protocol {cfg.protocol!r} (e.g. a rule that is off); remove "
        "it, or choose the options that use it."
    )


def load(path: str | Path) -> RunConfig:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path}")
    if not path.is_file():
        raise ConfigError(f"configuration path is not a file: {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read configuration {path}: {e.strerror}.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path} is not a TOML configuration (not UTF-8 text; a binary file?)."
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    return parse(raw, base=path.resolve().parent)
