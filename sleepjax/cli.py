"""Command-line interface: `sleepjax demo | run | report | fit | plot | models`.

The one home of the command line: every sub-command's arguments are defined
here, and `python -m sleepjax.sweep` is `sleepjax run --no-report`. Building
the parser imports nothing heavy (JAX loads only when a command runs).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

DEMO_CONFIG = Path(__file__).parent / "data" / "demo.toml"


def _error(msg: str, prog: str = "sleepjax") -> int:
    print(f"{prog}: error: {msg}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------ run/demo
def execute(
    cfg,
    out: Path,
    *,
    overwrite: bool = False,
    quiet: bool = False,
    devices=None,
    report: bool = True,
) -> str:
    """Run a validated config (a sweep; seeds only without [sweep]) into `out`,
    then draw its figure and print its summary table. Returns the table."""
    from .sweep import sweep, validate_sweep

    validate_sweep(cfg)  # every check before anything is compiled or written
    t0 = time.perf_counter()
    result = sweep(cfg, out, overwrite=overwrite, quiet=quiet, devices=devices)
    wall = time.perf_counter() - t0
    if (
        not report
        or result.path is None
        or (hasattr(result, "summary") and not result.summary)
    ):
        return ""
    store = result.store
    too_big = _report_too_big(store, cfg.run.memory_budget_mb)
    if too_big:
        print(
            f"\nno figure.png or summary.txt: {too_big}; see "
            f"{out / 'sweep_summary.txt'}, `sleepjax report {out} "
            "--memory-budget-mb MB` with more memory, or `sleepjax plot`."
        )
        return ""
    from .plot import report as draw_report

    table = draw_report(store, out, cfg.protocol)
    print(table)
    print(f"\nresults: {out / 'results.zarr'}\nfigure:  {out / 'figure.png'}")
    print(f"wall time: {wall:.1f} s")
    return table


def _report_too_big(
    store, budget_mb: float, source: str = "[run] memory_budget_mb"
) -> str:
    """Why the report cannot read `store` within `budget_mb` ("" if it can):
    the report reads every network's results at once."""
    need = store.n_networks * sum(
        math.prod(v.shape) * v.dtype.itemsize for v in store.variables.values()
    )
    if need <= budget_mb * 2**20:
        return ""
    return (
        f"the report reads all {store.n_networks} networks' results "
        f"({need / 2**30:.3g} GiB), more than the memory budget {source} = "
        f"{budget_mb:g} MiB"
    )


def cmd_report(args) -> int:
    """Draw a finished run's figure and summary again from its results."""
    from .config import RunSettings
    from .plot import open_results
    from .plot import report as draw_report

    store = open_results(args.results)
    if not store.complete:
        done = len(store.done_chunks())
        raise ValueError(
            f"the run in {args.results} is not finished ({done} of "
            f"{store.n_chunks} chunks done): run the same `sleepjax run` command "
            "again to resume it, then report."
        )
    budget, source = args.memory_budget_mb, "--memory-budget-mb"
    if budget is None:
        run = store.attrs.get("config", {}).get("run", {})
        budget = run.get("memory_budget_mb", RunSettings.memory_budget_mb)
        source = "[run] memory_budget_mb"
    if not budget > 0:
        raise ValueError(f"--memory-budget-mb must be > 0, got {budget:g}.")
    too_big = _report_too_big(store, budget, source)
    if too_big:
        raise ValueError(f"{too_big}; pass a larger --memory-budget-mb.")
    out = Path(args.out) if args.out else store.path.parent
    out.mkdir(parents=True, exist_ok=True)
    try:
        table = draw_report(store, out, None)
    except ValueError as e:  # an observable this report draws was not saved
        raise ValueError(
            f"{e}. The report of this protocol draws it; results saved by an "
            "older sleepjax may lack it (`sleepjax plot` reads what they hold)."
        ) from None
    print(table)
    print(f"\nfigure:  {out / 'figure.png'}\nsummary: {out / 'summary.txt'}")
    return 0


def cmd_run(args) -> int:
    from .config import load

    cfg = load(args.config)
    execute(
        cfg,
        Path(args.out),
        overwrite=args.overwrite,
        quiet=args.quiet,
        devices=args.devices,
        report=not args.no_report,
    )
    return 0


def _demo_file() -> dict:
    import tomllib

    return tomllib.loads(DEMO_CONFIG.read_text())


def _get(raw: dict, path: str):
    section, _, key = path.partition(".")
    return raw[section][key]


def _set(raw: dict, path: str, value) -> None:
    section, _, key = path.partition(".")
    raw.setdefault(section, {})[key] = value


def demo_config(**values):
    """The demo's config (`sleepjax/data/demo.toml`), with the `[demo]`
    options in `values` (by option name, `-` as `_`) applied and its save grid
    derived: about `[demo.saves] points` saves over the horizon, each a whole
    number of steps."""
    from .config import parse

    raw = _demo_file()
    demo = raw.pop("demo")
    for flag, (path, _, _) in demo["options"].items():
        v = values.get(flag.replace("-", "_"))
        if v is not None:
            _set(raw, path, v)
    saves = demo.get("saves")
    if saves:
        step = _get(raw, saves["step"])
        every = max(1, round(_get(raw, saves["horizon"]) / saves["points"] / step))
        _set(raw, saves["every"], every * step)
    return parse(raw)


def cmd_demo(args) -> int:
    demo = _demo_file()["demo"]
    values = {k: v for k, v in vars(args).items() if k not in _DEMO_RESERVED}
    cfg = demo_config(**values)
    shown = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in values.items() if v)
    print(f"sleepjax demo: {demo['description']} ({shown or 'defaults'}).")
    execute(cfg, Path(args.out), overwrite=args.overwrite, quiet=args.quiet)
    return 0


_DEMO_RESERVED = {"out", "overwrite", "quiet", "func", "command"}


def add_demo_parser(sub) -> argparse.ArgumentParser:
    """The `demo` sub-command; its options come from the demo config's
    `[demo.options]` table (defaults: the config's own values)."""
    raw = _demo_file()
    demo = raw["demo"]
    d = sub.add_parser(
        "demo",
        help="the main job: a small real sweep with its figure (minutes)",
        description=f"sleepjax demo: {demo['description']}. Writes results.zarr, "
        "figure.png and summary.txt into --out.",
    )
    d.add_argument("--out", default="sleepjax-demo", help="output folder")
    types = {"int": int, "float": float, "str": str}
    for flag, (path, kind, text) in demo["options"].items():
        d.add_argument(
            f"--{flag}",
            type=types[kind],
            default=None,
            help=f"{text} (sets {path}; default {_get(raw, path)})",
        )
    d.add_argument("--overwrite", action="store_true", help="replace an earlier run")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_demo)
    return d


# ----------------------------------------------------------------------- fit
def add_fit_parser(sub) -> argparse.ArgumentParser:
    """The `fit` sub-command (exit status 0 ok, 1 the fit failed, 2 bad input;
    nothing is written unless the fit succeeds, and the output directory
    appears complete or not at all)."""
    p = sub.add_parser(
        "fit",
        help="fit model parameters to simulated data by gradient descent",
        description=(
            "Simulate data with the [model] parameters, then fit the [fit] params "
            "from their start values by gradient descent through the noisy "
            "solve. Writes result.npz, fit.json and fit.png into --out."
        ),
    )
    p.add_argument("config", help="fit config (TOML); see docs/fit.md")
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty output directory (atomically, at the end)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--check",
        action="store_true",
        help="validate the config and the output directory, then stop",
    )
    p.set_defaults(func=cmd_fit)
    return p


def cmd_fit(args) -> int:
    """Run `sleepjax fit`; returns the exit status."""
    from ._errors import ConfigError
    from .fit._config import load_config
    from .fit._io import check_out_dir

    try:
        cfg = load_config(args.config)
        check_out_dir(args.out, overwrite=args.overwrite)
    except (ConfigError, FileExistsError) as e:
        print(f"sleepjax fit: {e}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: ok")
        return 0

    import jax

    from .fit import FitNaNError, save_result

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    with jax.enable_x64(bool(cfg.run.run.float64)):
        try:
            result = cfg.execute(progress=not args.quiet, say=say)
        except FitNaNError as e:
            print(f"sleepjax fit: {e}", file=sys.stderr)
            return 1
    say(result.summary())
    meta = {"file": str(args.config), "toml": cfg.raw}
    out = save_result(result, args.out, config=meta, overwrite=args.overwrite)
    say(f"wrote {out}/result.npz, fit.json, fit.png")
    return 0


# ---------------------------------------------------------------------- plot
def add_plot_parser(sub) -> argparse.ArgumentParser:
    """The `plot` sub-command: an observable against swept parameters."""
    p = sub.add_parser(
        "plot",
        help="plot an observable of a sweep against one or two swept parameters",
        description=(
            "One parameter: a line of the mean over seeds with a band of ± one "
            "standard deviation and the seeds as dots; other swept parameters, if "
            "any, give one line each. Two parameters: a heatmap of the mean over "
            "seeds. Random draws (many distinct values): a scatter plot instead. "
            "Failed networks (status ≠ 0) are left out and counted in the title."
        ),
    )
    p.add_argument("results", help="output folder of `sleepjax run` (or its .zarr)")
    p.add_argument(
        "--kind",
        choices=("sweep", "spectrum", "raster"),
        default="sweep",
        help="sweep (default): an observable against swept parameters; "
        "spectrum: eigenvalues of a saved matrix (e.g. --var snapshot_W) in the "
        "complex plane at --time (a list: one panel each; 'all'), marking the "
        "model's eigenvalue observables; raster: one network's (--network) "
        "activity over time (e.g. --var snapshot_neurons): neurons × time as a "
        "heatmap, or spikes as dots. Save states with [run] snapshot_times",
    )
    p.add_argument(
        "--network",
        type=int,
        default=0,
        help="--kind raster: the network's index in the store (default 0)",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the store's observables (with their meaning and unit) and "
        "swept parameters, then stop",
    )
    p.add_argument(
        "--x", help="swept parameter: a path (model.noise) or its name (required)"
    )
    p.add_argument("--y", help="a second swept parameter: draws a heatmap")
    p.add_argument(
        "--var", help="observable (a data variable of the store; see --list)"
    )
    p.add_argument(
        "--time",
        default="last",
        help="a time (nearest save time) or 'last'; --kind spectrum: times "
        "separated by commas, or 'all'",
    )
    p.add_argument(
        "--isel",
        action="append",
        default=[],
        metavar="DIM=K",
        help="index along another dimension of the observable (default 0), "
        "e.g. plane=1",
    )
    p.add_argument(
        "--sel",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="keep only networks with this parameter value (repeatable)",
    )
    p.add_argument("--abs", action="store_true", help="plot the absolute value")
    p.add_argument("--out", help="figure file (.png, .pdf, .svg) (required)")
    p.set_defaults(func=plot_main)
    return p


def plot_main(args: argparse.Namespace) -> int:
    """Entry point of `sleepjax plot`; returns 0 (raises ValueError on bad input)."""
    from .plot import describe_variables, plot_results

    if args.list:
        print(describe_variables(args.results))
        return 0
    if args.kind != "sweep":
        from .plot import plot_activity, plot_spectrum

        missing = [f"--{k}" for k in ("var", "out") if getattr(args, k) is None]
        if missing:
            raise ValueError(
                f"sleepjax plot --kind {args.kind} needs {', '.join(missing)} (see "
                "--list for the saved variables)."
            )
        if args.kind == "spectrum":
            out = plot_spectrum(
                args.results, var=args.var, out=args.out, time=args.time, sel=args.sel
            )
        else:
            out = plot_activity(
                args.results,
                var=args.var,
                out=args.out,
                network=args.network,
                isel=args.isel,
            )
        print(f"figure: {out}")
        return 0
    missing = [f"--{k}" for k in ("x", "var", "out") if getattr(args, k) is None]
    if missing:
        raise ValueError(
            f"sleepjax plot needs {', '.join(missing)} (or --list to see the "
            "observables and swept parameters)."
        )
    out = plot_results(
        args.results,
        x=args.x,
        y=args.y,
        var=args.var,
        time=args.time,
        isel=args.isel,
        sel=args.sel,
        absolute=args.abs,
        out=args.out,
    )
    print(f"figure: {out}")
    return 0


# -------------------------------------------------------------------- models
def describe_models() -> str:
    """Every registered model: title, protocols, options and parameters."""
    from ._registry import registered_models
    from ._spec import default_value

    lines = []
    for name, spec in sorted(registered_models().items()):
        lines.append(f"{name}{' (default)' if spec.default else ''}: {spec.title}")
        lines.append("  protocols:")
        for pn, proto in spec.protocols.items():
            desc = " ".join(proto.description.split())
            lines.append(f"    {pn}: {desc[:100]}{'…' if len(desc) > 100 else ''}")
        for title, fields in (
            ("options", spec.option_fields),
            ("parameters", spec.param_fields),
        ):
            items = []
            for f in fields.values():
                unit = f" {f.unit}" if f.unit else ""
                items.append(f"{f.name}={default_value(f)!r}{unit}")
            lines.append(f"  {title}: " + ", ".join(items))
        lines.append("")
    return "\n".join(lines).rstrip()


def cmd_models(args) -> int:
    print(describe_models())
    return 0


# ---------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sleepjax",
        description="Differentiable, vmapped plastic networks with noise and sleep. "
        "`sleepjax models` lists the models and their protocols.",
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"sleepjax {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    add_demo_parser(sub)

    r = sub.add_parser("run", help="run a TOML config (a protocol, optionally a sweep)")
    r.add_argument("config", help="TOML configuration file")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument(
        "--overwrite", action="store_true", help="replace a different run in --out"
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--devices", type=int, default=None, help="local devices to use")
    r.add_argument(
        "--no-report",
        action="store_true",
        help="store the results only (no figure or summary table)",
    )
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser(
        "report",
        help="draw a finished run's figure and summary table again",
        description=(
            "Reads the results of a finished `sleepjax run` (for example one "
            "run with --no-report, or drawn by an older sleepjax) and writes "
            "figure.png and summary.txt, by default next to results.zarr."
        ),
    )
    rp.add_argument("results", help="output folder of `sleepjax run` (or its .zarr)")
    rp.add_argument(
        "--out", help="folder for figure.png and summary.txt (default: the run's)"
    )
    rp.add_argument(
        "--memory-budget-mb",
        type=float,
        default=None,
        help="the most the report may read at once (default: the run's "
        "[run] memory_budget_mb)",
    )
    rp.set_defaults(func=cmd_report)

    add_fit_parser(sub)
    add_plot_parser(sub)

    m = sub.add_parser("models", help="list the models, their protocols and settings")
    m.set_defaults(func=cmd_models)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._errors import ConfigError

    try:
        return int(args.func(args) or 0)
    except (ConfigError, ValueError, TypeError, FileNotFoundError) as e:
        return _error(str(e))
    except PermissionError as e:
        return _error(f"permission denied: {e.filename or e}.")
    except OSError as e:  # a disk full, a folder removed under the run, ...
        return _error(f"{e.strerror or e}: {e.filename or ''}".rstrip(": ") + ".")
    except KeyboardInterrupt:
        return _error("interrupted; re-run the same command to resume.")


if __name__ == "__main__":
    sys.exit(main())
