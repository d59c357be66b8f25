"""Reading and validating a fit config (TOML) before anything is compiled.

`[model]`, `[protocol]` and `[run]` are those of every sleepjax config
(`sleepjax.config`): the model that generates the data, the protocol, and
`[run] seed` (network structure: memory plane, initial W and x, φ0), `solver`,
`prng`, `float64`. `[fit]` holds the trainable `params`, their `constraints`
and `start` values, the optimiser settings, `[fit.loss]` and `[fit.data]`.
See docs/fit.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optax

from .._errors import ConfigError
from .._spec import params_info
from ._loss import STATS, SummaryStats, Trajectory
from ._observe import available_names, expand, families
from ._params import CONSTRAINT_NAMES, Param, as_constraint

FIT_KEYS = (
    "params",
    "constraints",
    "start",
    "optimizer",
    "lr",
    "schedule",
    "steps",
    "restarts",
    "spread",
    "seed",
    "clip",
    "tol",
    "xtol",
    "loss",
    "data",
)
LOSS_KEYS = ("kind", "observables", "t_min", "t_max", "weights", "draws", "stats")
DATA_KEYS = ("seed", "draws")
OPTIMIZERS: dict[str, Callable] = {
    "adam": optax.adam,
    "adamw": optax.adamw,
    "sgd": optax.sgd,
    "rmsprop": optax.rmsprop,
    "lbfgs": None,  # optax.lbfgs with its zoom line search; lr/schedule unused
}
SCHEDULES = ("constant", "cosine", "exponential", "warmup_cosine")


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """A validated fit config, ready to run (see `load_config`)."""

    raw: dict
    run: Any  # sleepjax.config.RunConfig
    true_params: Any
    start_params: Any
    trainables: tuple[Param, ...]
    loss: Any
    optimizer: optax.GradientTransformation
    steps: int
    restarts: int
    spread: float
    tol: float | None
    xtol: float | None
    seed: int
    data_seed: int
    data_draws: int

    def build(self) -> Callable:
        """`params -> Experiment` with this config's protocol and structure
        (`[run] seed`)."""
        import jax.random as jr

        run = self.run
        key = jr.key(run.run.seed, impl=run.run.prng)

        def build(p):
            return run.build(p, key)

        return build

    def key(self, seed: int):
        """A PRNG key of the config's implementation (`[run] prng`)."""
        import jax.random as jr

        return jr.key(seed, impl=self.run.run.prng)

    def execute(self, *, progress: bool = True, say=print):
        """Simulate the data with the `[model]` values, then fit. Returns a
        `FitResult`; raises `FitNaNError` if the fit meets a NaN."""
        import equinox as eqx
        import jax
        import jax.numpy as jnp

        from ._data import simulate_data
        from ._fit import fit

        dtype = jnp.result_type(float)  # float64 under [run] float64 = true

        def cast(tree):
            return jax.tree.map(
                lambda a: jnp.asarray(a, dtype) if eqx.is_inexact_array(a) else a,
                tree,
            )

        build = self.build()
        solver = self.run.run.solver_object()
        say(
            f"simulating data: model {self.run.model}, protocol {self.run.protocol}, "
            f"{self.data_draws} draw(s), noise seed {self.data_seed}"
        )
        data = simulate_data(
            build,
            cast(self.true_params),
            key=self.key(self.data_seed),
            draws=self.data_draws,
            observables=self.loss.observables,
            solver=solver,
        )
        say(
            f"fitting {', '.join(p.name for p in self.trainables)}: up to "
            f"{self.steps} steps x {self.restarts} restart(s) on "
            f"{jax.default_backend()}"
        )
        return fit(
            build,
            cast(self.start_params),
            data,
            self.trainables,
            self.loss,
            optimizer=self.optimizer,
            steps=self.steps,
            restarts=self.restarts,
            spread=self.spread,
            tol=self.tol,
            xtol=self.xtol,
            key=self.key(self.seed),
            solver=solver,
            progress=progress,
        )


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


class _Errors:
    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, msg: str) -> None:
        self.items.append(f"[{where}] {msg}")

    def unknown(self, where: str, key: str, valid) -> None:
        self.add(
            where,
            f"unknown key {key!r}.{_suggest(key, valid)} Valid keys: "
            f"{', '.join(valid)}.",
        )

    def raise_if_any(self) -> None:
        if self.items:
            lines = "\n  - ".join(self.items)
            raise ConfigError(f"invalid fit config {self.source}:\n  - {lines}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_int(err, where, key, v, lo=1) -> int | None:
    if not _is_int(v) or v < lo:
        err.add(where, f"`{key}` must be an integer >= {lo}, got {v!r}.")
        return None
    return v


def _check_pos(err, where, key, v, allow_zero=False) -> float | None:
    ok = _is_num(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rel = ">= 0" if allow_zero else "> 0"
        err.add(where, f"`{key}` must be a finite number {rel}, got {v!r}.")
        return None
    return float(v)


def _table(err, doc, name) -> dict:
    v = doc.get(name, {})
    if not isinstance(v, dict):
        err.add(name, f"must be a table, got {type(v).__name__}.")
        return {}
    return v


def _optimizer(err, f):
    name = f.get("optimizer", "adam")
    lr = _check_pos(err, "fit", "lr", f.get("lr", 0.05))
    steps = _check_int(err, "fit", "steps", f.get("steps", 100))
    sched = f.get("schedule", "constant")
    clip = f.get("clip")
    if name not in OPTIMIZERS:
        err.add(
            "fit",
            f"`optimizer` must be one of {', '.join(OPTIMIZERS)}, got {name!r}."
            + (_suggest(name, OPTIMIZERS) if isinstance(name, str) else ""),
        )
        return None, steps
    if sched not in SCHEDULES:
        err.add(
            "fit",
            f"`schedule` must be one of {', '.join(SCHEDULES)}, got {sched!r}."
            + (_suggest(sched, SCHEDULES) if isinstance(sched, str) else ""),
        )
        return None, steps
    if clip is not None:
        clip = _check_pos(err, "fit", "clip", clip)
    if lr is None or steps is None:
        return None, steps
    if name == "lbfgs":
        opt = optax.lbfgs(
            linesearch=optax.scale_by_zoom_linesearch(
                max_linesearch_steps=10, initial_guess_strategy="one"
            )
        )
        if clip is not None:
            opt = optax.chain(optax.clip_by_global_norm(clip), opt)
        return opt, steps
    if sched == "constant":
        rate = lr
    elif sched == "cosine":
        rate = optax.cosine_decay_schedule(lr, steps, alpha=0.05)
    elif sched == "exponential":
        rate = optax.exponential_decay(lr, steps, decay_rate=0.05)
    else:
        rate = optax.warmup_cosine_decay_schedule(
            0.0, lr, max(1, steps // 10), steps, end_value=0.05 * lr
        )
    opt = OPTIMIZERS[name](rate)
    if clip is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip), opt)
    return opt, steps


def _loss(err, spec, observe, horizon):
    avail = available_names(observe) if observe is not None else None
    fams = families(observe) if observe is not None else {}
    if not isinstance(spec, dict):
        err.add("fit.loss", f"must be a table, got {spec!r}.")
        return None
    for k in spec:
        if k not in LOSS_KEYS:
            err.unknown("fit.loss", k, LOSS_KEYS)
    kind = spec.get("kind", "trajectory")
    if kind not in ("trajectory", "summary"):
        err.add(
            "fit.loss",
            f"`kind` must be 'trajectory' or 'summary', got {kind!r}."
            + (
                _suggest(kind, ("trajectory", "summary"))
                if isinstance(kind, str)
                else ""
            ),
        )
        return None
    default = list(getattr(observe, "default_fit", ()) or (avail or ()))
    obs = spec.get("observables", default)
    if isinstance(obs, str):
        obs = [obs]
    if not isinstance(obs, list) or not obs or not all(isinstance(o, str) for o in obs):
        err.add("fit.loss", f"`observables` must be a list of names, got {obs!r}.")
        return None
    valid = list(fams) + list(avail or ())
    bad = False
    for o in obs:
        if o in fams:
            missing = [x for x in fams[o] if avail is not None and x not in avail]
            if missing:
                err.add(
                    "fit.loss",
                    f"observable family {o!r} needs {missing}, which this protocol "
                    f"does not save (it saves {list(avail)}).",
                )
                bad = True
        elif avail is not None and o not in valid:
            err.add(
                "fit.loss",
                f"unknown observable {o!r}.{_suggest(o, valid)} "
                f"Valid: {', '.join(valid)}.",
            )
            bad = True
    kw = {}
    for k in ("t_min", "t_max"):
        if k in spec:
            v = spec[k]
            if not _is_num(v) or (horizon is not None and not 0 <= v <= horizon):
                err.add(
                    "fit.loss",
                    f"`{k}` must be a number inside the horizon [0, {horizon}], "
                    f"got {v!r}.",
                )
                bad = True
            else:
                kw[k] = float(v)
    if "weights" in spec:
        w = spec["weights"]
        names = set(expand(observe, obs)) | set(obs)
        if not isinstance(w, dict):
            err.add("fit.loss", f"`weights` must be a table, got {w!r}.")
            bad = True
        else:
            for k, v in w.items():
                if k not in names:
                    err.add(
                        "fit.loss",
                        f"weight for {k!r}, which is not in "
                        f"`observables`.{_suggest(k, names)}",
                    )
                    bad = True
                elif not _is_num(v) or v < 0:
                    err.add("fit.loss", f"weight of {k!r} must be >= 0, got {v!r}.")
                    bad = True
            kw["weights"] = {k: float(v) for k, v in w.items() if _is_num(v)}
    if kind == "trajectory":
        for k in ("draws", "stats"):
            if k in spec:
                err.add("fit.loss", f"`{k}` applies to kind = 'summary' only.")
                bad = True
        return None if bad else Trajectory(tuple(obs), **kw)
    draws = _check_int(err, "fit.loss", "draws", spec.get("draws", 4))
    stats = spec.get("stats", ["mean"])
    stats = [stats] if isinstance(stats, str) else stats
    if not isinstance(stats, list) or not stats or any(s not in STATS for s in stats):
        err.add("fit.loss", f"`stats` must be a list from {STATS}, got {stats!r}.")
        return None
    if "std" in stats and draws is not None and draws < 2:
        err.add("fit.loss", "the 'std' statistic needs draws >= 2.")
        return None
    if bad or draws is None:
        return None
    return SummaryStats(tuple(obs), draws=draws, stats=tuple(stats), **kw)


def validate(
    doc: dict, source: str = "<config>", folder: Path | None = None
) -> FitConfig:
    """Validate a parsed TOML document; raise `ConfigError` listing every
    problem found (unknown keys come with the nearest valid name). `folder`:
    where relative file paths are read from (default: the working directory)."""
    import jax

    from .. import config as base

    err = _Errors(source)
    run_cfg = None
    if "fit" not in doc:
        err.add("fit", "section missing: a fit config needs [fit] params = [...].")
    try:
        run_cfg = base.parse(doc, base=folder)
    except base.ConfigError as e:
        err.add("model/protocol/run", str(e))
    f = _table(err, doc, "fit")
    param_info = params_info(run_cfg.spec.params) if run_cfg is not None else None
    true_kw = dict(run_cfg.params) if run_cfg is not None else {}
    true_params = run_cfg.default_params() if run_cfg is not None else None

    for k in f:
        if k not in FIT_KEYS:
            err.unknown("fit", k, FIT_KEYS)
    names = f.get("params")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names:
        err.add(
            "fit",
            f"`params` must be a non-empty list of parameter names, got {names!r}.",
        )
        names = []
    good = []
    for n in names:
        if not isinstance(n, str) or (param_info is not None and n not in param_info):
            valid = list(param_info or ())
            err.add(
                "fit",
                f"`params`: unknown parameter {n!r}."
                f"{_suggest(n, valid)} Valid: {', '.join(valid)}.",
            )
        elif n in good:
            err.add("fit", f"`params`: {n!r} listed twice.")
        else:
            good.append(n)
    cons = f.get("constraints", {})
    if not isinstance(cons, dict):
        err.add("fit", f"`constraints` must be a table, got {cons!r}.")
        cons = {}
    cobj = {}
    for n, c in cons.items():
        if n not in good:
            err.add(
                "fit",
                f"constraint for {n!r}, which is not in `params`.{_suggest(n, good)}",
            )
            continue
        if isinstance(c, list):
            if len(c) != 2 or not all(_is_num(x) for x in c):
                err.add(
                    "fit", f"constraint of {n!r}: an interval is [lo, hi], got {c!r}."
                )
                continue
        elif not isinstance(c, str):
            err.add(
                "fit",
                f"constraint of {n!r} must be one of {CONSTRAINT_NAMES} "
                f"or [lo, hi], got {c!r}.",
            )
            continue
        try:
            cobj[n] = as_constraint(c)
        except ValueError as e:
            err.add("fit", f"constraint of {n!r}: {e}")
    start = f.get("start", {})
    if not isinstance(start, dict):
        err.add("fit", f"`start` must be a table, got {start!r}.")
        start = {}
    start_kw = dict(true_kw)
    defaults = {k: v.default for k, v in (param_info or {}).items()}
    for n in good:
        if n in defaults:
            start_kw[n] = float(defaults[n])
    for n, v in start.items():
        if n not in good:
            err.add(
                "fit",
                f"start value for {n!r}, which is not in `params`.{_suggest(n, good)}",
            )
        elif not _is_num(v):
            err.add("fit", f"start value of {n!r} must be a finite number, got {v!r}.")
        else:
            start_kw[n] = float(v)
    for n in good:
        c = cobj.get(n)
        if c is not None and not c.contains(start_kw[n]):
            err.add(
                "fit",
                f"start value of {n!r} ({start_kw[n]}) is outside its "
                f"constraint ({c.describe()}); set [fit.start] {n} = ...",
            )
        if c is not None and n in true_kw and not c.contains(true_kw[n]):
            err.add(
                "fit",
                f"the true value of {n!r} in [model] ({true_kw[n]}) is "
                f"outside its constraint ({c.describe()}).",
            )
    start_params = None
    if true_params is not None:
        try:
            start_params = run_cfg.spec.params(**start_kw)
        except (ValueError, TypeError) as e:
            err.add("fit", f"start values: {e}")

    opt, steps = _optimizer(err, f)
    restarts = _check_int(err, "fit", "restarts", f.get("restarts", 1))
    spread = _check_pos(err, "fit", "spread", f.get("spread", 0.0), allow_zero=True)
    tol, xtol = f.get("tol"), f.get("xtol")
    if tol is not None:
        tol = _check_pos(err, "fit", "tol", tol)
    if xtol is not None:
        xtol = _check_pos(err, "fit", "xtol", xtol)
    seed = f.get("seed", 0)
    if not _is_int(seed) or not 0 <= seed < 2**32:
        err.add("fit", f"`seed` must be an integer in [0, 2**32), got {seed!r}.")

    data = f.get("data", {})
    if not isinstance(data, dict):
        err.add("fit.data", f"must be a table, got {data!r}.")
        data = {}
    for k in data:
        if k not in DATA_KEYS:
            err.unknown("fit.data", k, DATA_KEYS)
    dseed = data.get("seed", 1)
    if not _is_int(dseed) or not 0 <= dseed < 2**32:
        err.add("fit.data", f"`seed` must be an integer in [0, 2**32), got {dseed!r}.")
    ddraws = _check_int(err, "fit.data", "draws", data.get("draws", 1))

    # Trace the experiment once (shapes only, nothing compiled or run) to learn
    # the horizon and which observables it saves.
    observe, horizon = None, None
    if run_cfg is not None:
        exp = jax.eval_shape(run_cfg.build)
        observe, horizon = exp.observe, exp.t1
        try:  # fitted and [model] parameters must reach the experiment
            base.check_used(run_cfg, [run_cfg], good, where="fitted")
        except base.ConfigError as e:
            err.add("fit", str(e))
    loss = _loss(err, f.get("loss", {}), observe, horizon)
    err.raise_if_any()
    trainables = tuple(Param(n, cobj.get(n)) for n in good)
    return FitConfig(
        raw=doc,
        run=run_cfg,
        true_params=true_params,
        start_params=start_params,
        trainables=trainables,
        loss=loss,
        optimizer=opt,
        steps=steps,
        restarts=restarts,
        spread=spread,
        tol=tol,
        xtol=xtol,
        seed=seed,
        data_seed=dseed,
        data_draws=ddraws,
    )


def load_config(path) -> FitConfig:
    """Read and validate a fit config file (see `validate`)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path} is not a TOML configuration (not UTF-8 text; a binary file?)."
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}.") from None
    return validate(doc, str(path), folder=path.resolve().parent)
