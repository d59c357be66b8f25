"""TOML run configurations: parse, validate eagerly, and build experiments.

A configuration has these sections (see `examples/*.toml`):

- `[model]`: `name = "susman"` plus any `SusmanOptions` field (n, rule, dt,
  rate_control, xbar, noise_form, stdp) and any `SusmanParams` field (eta,
  beta, noise, strength, amplitude, ...).
- `[protocol]`: `name` (erosion, learning, limit_cycle, life_cycle) plus that
  protocol's keyword arguments (e.g. `code`, `t_insert`, `t_end`).
- `[run]`: seeds, seed, solver ("euler" | "multirate"), substeps, prng,
  chunk_size, memory_budget_mb, float64.
- `[sweep]`: parameters to sweep (see `sleepjax.sweep`).
- `[fit]`: fitting settings (see `sleepjax.fit`).

Everything is checked before anything is compiled or written: unknown keys
(with the nearest valid name), unknown rule or protocol names, non-positive dt
or horizons, NaN values, wrong types.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .models import susman

SECTIONS = ("model", "protocol", "run", "sweep", "fit")


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the fix."""


def suggest(name: str, valid) -> str:
    """' (did you mean 'x'?)' for the nearest valid name, or ''."""
    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(kind: str, name: str, valid) -> ConfigError:
    return ConfigError(
        f"unknown {kind} {name!r}{suggest(name, valid)}; valid: "
        f"{', '.join(sorted(map(str, valid)))}."
    )


# ----------------------------------------------------------------- protocols
@dataclasses.dataclass(frozen=True)
class ProtocolSpec:
    """A protocol builder and its keyword arguments.

    `numeric` are the keyword arguments that may vary per network inside one
    compiled batch (they only enter array arithmetic); all others are static
    (they shape the time grid or the model's structure).
    """

    name: str
    fn: Callable
    uses_params: bool
    numeric: frozenset[str] = frozenset()

    @property
    def kwargs(self) -> dict[str, Any]:
        sig = inspect.signature(self.fn)
        return {
            k: p.default for k, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY
        }

    def build(self, opts, params, key, **kwargs):
        if self.uses_params:
            return self.fn(opts, params, key, **kwargs)
        return self.fn(opts, key, **kwargs)


PROTOCOLS: dict[str, ProtocolSpec] = {
    "erosion": ProtocolSpec("erosion", susman.erosion, True),
    "learning": ProtocolSpec("learning", susman.learning, True),
    "limit_cycle": ProtocolSpec(
        "limit_cycle", susman.limit_cycle, False, frozenset({"rho", "gamma", "cue"})
    ),
    "life_cycle": ProtocolSpec("life_cycle", susman.life_cycle, True),
}

OPTION_FIELDS = {f.name: f for f in dataclasses.fields(susman.SusmanOptions)}
PARAM_FIELDS = tuple(susman.PARAM_NAMES)


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

    def __post_init__(self):
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise ConfigError(
                f"[run] seeds must be a positive integer, got {self.seeds!r}."
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"[run] seed must be an integer >= 0, got {self.seed!r}.")
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

    def solver_object(self):
        import diffrax

        from ._solvers import MultirateEuler

        if self.solver == "multirate":
            return MultirateEuler(self.substeps)
        return diffrax.Euler()


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A parsed, validated configuration."""

    model: str
    options: susman.SusmanOptions
    params: dict[str, float]
    protocol: str
    protocol_kwargs: dict[str, Any]
    run: RunSettings
    sweep: dict[str, Any] | None
    fit: dict[str, Any] | None
    raw: dict[str, Any]

    @property
    def protocol_spec(self) -> ProtocolSpec:
        return PROTOCOLS[self.protocol]

    def default_params(self) -> susman.SusmanParams:
        return susman.SusmanParams(**self.params)

    def check_build(self, options=None, protocol_kwargs=None) -> None:
        """Trace the builder once (no compilation, nothing run) so that structural
        problems (shapes, sizes) surface as a ConfigError before any work."""
        import jax

        try:
            jax.eval_shape(
                lambda: self.build(options=options, protocol_kwargs=protocol_kwargs)
            )
        except (ValueError, TypeError) as e:
            raise ConfigError(f"the configuration cannot be built: {e}") from None

    def build(self, params=None, key=None, *, options=None, protocol_kwargs=None):
        """The `Experiment` of one network (params/key may be batched under vmap)."""
        import jax.random as jr

        params = self.default_params() if params is None else params
        key = jr.key(self.run.seed) if key is None else key
        opts = self.options if options is None else options
        kw = dict(self.protocol_kwargs)
        kw.update(protocol_kwargs or {})
        return self.protocol_spec.build(opts, params, key, **kw)


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


_POSITIVE_PARAMS = {"tau_y", "tau_P", "tau_D", "tau_x"}
_NONNEG_PARAMS = {"beta", "noise", "zeta", "w0_scale", "eta"}


def check_param_value(name: str, value, where: str = "[model]") -> float:
    """Validate one numeric model parameter (used by sweeps and fits too)."""
    return _check_number(
        f"{where} {name}",
        value,
        positive=name in _POSITIVE_PARAMS,
        nonneg=name in _NONNEG_PARAMS,
    )


def parse_model(section: Mapping[str, Any]):
    sec = dict(section)
    name = sec.pop("name", "susman")
    if name != "susman":
        raise _unknown("model", name, ("susman",))
    opt_kw, params = {}, {}
    for k, v in sec.items():
        if k in OPTION_FIELDS:
            opt_kw[k] = v
        elif k in PARAM_FIELDS:
            params[k] = check_param_value(k, v)
        else:
            raise _unknown("[model] key", k, list(OPTION_FIELDS) + list(PARAM_FIELDS))
    if "dt" in opt_kw:
        opt_kw["dt"] = _check_number("[model] dt", opt_kw["dt"], positive=True)
    if "n" in opt_kw and (
        isinstance(opt_kw["n"], bool) or not isinstance(opt_kw["n"], int)
    ):
        raise ConfigError(f"[model] n must be an integer, got {opt_kw['n']!r}.")
    for k in ("rule", "rate_control", "xbar", "noise_form", "stdp"):
        if k in opt_kw and not isinstance(opt_kw[k], str):
            raise ConfigError(f"[model] {k} must be a string, got {opt_kw[k]!r}.")
    if "rule" in opt_kw and opt_kw["rule"] not in susman.RULES:
        raise _unknown("[model] rule", opt_kw["rule"], susman.RULES)
    try:
        opts = susman.SusmanOptions(**opt_kw)
    except ValueError as e:
        raise ConfigError(f"[model] {e}") from None
    return name, opts, params


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


_TIME_KEYS = ("t_insert", "t_end", "t_retain", "save_every", "t_cue", "cue_gap")


def parse_protocol(section: Mapping[str, Any], opts) -> tuple[str, dict[str, Any]]:
    sec = dict(section)
    if "name" not in sec:
        raise ConfigError(f"[protocol] needs a name: one of {', '.join(PROTOCOLS)}.")
    name = sec.pop("name")
    if name not in PROTOCOLS:
        raise _unknown("protocol", name, PROTOCOLS)
    valid = PROTOCOLS[name].kwargs
    kw = {}
    for k, v in sec.items():
        if k not in valid:
            raise _unknown(f"[protocol] key for {name!r}", k, valid)
        default = valid[k]
        if isinstance(default, float) and not isinstance(default, bool):
            pos = k in _TIME_KEYS or k in ("cue_duration",)
            v = _check_number(f"[protocol] {k}", v, positive=pos)
        elif isinstance(default, tuple):
            v = _check_tuple_like(f"[protocol] {k}", v, default)
        elif isinstance(default, bool) and not isinstance(v, bool):
            raise ConfigError(f"[protocol] {k} must be true or false, got {v!r}.")
        elif isinstance(default, int) and not isinstance(default, bool):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"[protocol] {k} must be an integer, got {v!r}.")
        elif isinstance(default, str) and not isinstance(v, str):
            raise ConfigError(f"[protocol] {k} must be a string, got {v!r}.")
        kw[k] = v
    if name == "erosion":
        code = kw.get("code", "imaginary")
        if code not in susman.CODES:
            raise _unknown("[protocol] code", code, susman.CODES)
        t_ins = kw.get("t_insert", valid["t_insert"])
        t_end = kw.get("t_end", valid["t_end"])
        if not t_ins < t_end:
            raise ConfigError(
                f"[protocol] t_insert ({t_ins}) must come before t_end ({t_end})."
            )
    # Check the time grid now (whole number of steps), before compiling.
    for k in ("t_insert", "t_end", "t_retain", "save_every"):
        if k in kw:
            ratio = kw[k] / opts.dt
            if abs(ratio - round(ratio)) > 1e-6 * max(1.0, ratio):
                raise ConfigError(
                    f"[protocol] {k} = {kw[k]} is not a whole number of steps "
                    f"dt = {opts.dt}."
                )
    return name, kw


def parse(raw: Mapping[str, Any]) -> RunConfig:
    """Validate a configuration dict (as read from TOML) into a `RunConfig`."""
    if not isinstance(raw, Mapping):
        raise ConfigError("a configuration must be a TOML table.")
    for k in raw:
        if k not in SECTIONS:
            raise _unknown("section", k, SECTIONS)
        if not isinstance(raw[k], Mapping):
            raise ConfigError(f"[{k}] must be a table.")
    if "protocol" not in raw:
        raise ConfigError(
            f"the configuration has no [protocol] section; add one with name = one "
            f"of {', '.join(PROTOCOLS)}."
        )
    name, opts, params = parse_model(raw.get("model", {}))
    try:
        susman.SusmanParams(**params)
    except ValueError as e:
        raise ConfigError(f"[model] {e}") from None
    protocol, kw = parse_protocol(raw["protocol"], opts)
    run_sec = dict(raw.get("run", {}))
    valid_run = {f.name for f in dataclasses.fields(RunSettings)}
    for k in run_sec:
        if k not in valid_run:
            raise _unknown("[run] key", k, valid_run)
    run = RunSettings(**run_sec)
    cfg = RunConfig(
        model=name,
        options=opts,
        params=params,
        protocol=protocol,
        protocol_kwargs=kw,
        run=run,
        sweep=dict(raw["sweep"]) if "sweep" in raw else None,
        fit=dict(raw["fit"]) if "fit" in raw else None,
        raw=dict(raw),
    )
    cfg.check_build()
    return cfg


def load(path: str | Path) -> RunConfig:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path}")
    if not path.is_file():
        raise ConfigError(f"configuration path is not a file: {path}")
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    return parse(raw)
