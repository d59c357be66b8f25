"""Command-line interface: `sleepjax demo | run | fit | plot`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DEMO_CONFIG = Path(__file__).parent / "data" / "demo.toml"


def _error(msg: str) -> int:
    print(f"sleepjax: error: {msg}", file=sys.stderr)
    return 2


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder.")


def execute(cfg, out: Path, *, overwrite: bool = False, quiet: bool = False) -> str:
    """Run a validated config (a sweep; seeds only without [sweep]) into `out`,
    then draw its figure and print its summary table. Returns the table."""
    from .plot import report
    from .sweep import sweep, validate_sweep

    validate_sweep(cfg)  # every check before anything is compiled or written
    _check_out(out, overwrite)
    t0 = time.perf_counter()
    result = sweep(cfg, out, overwrite=overwrite, quiet=quiet)
    wall = time.perf_counter() - t0
    table = report(result.store, out, cfg.protocol)
    print(table)
    print(f"\nresults: {out / 'results.zarr'}\nfigure:  {out / 'figure.png'}")
    print(f"wall time: {wall:.1f} s")
    return table


def cmd_run(args) -> int:
    from .config import load

    cfg = load(args.config)
    execute(cfg, Path(args.out), overwrite=args.overwrite, quiet=args.quiet)
    return 0


def demo_config(seeds: int, n: int, t_insert: float, t_end: float):
    """The demo: 3 homeostasis rules × {real, imaginary} × seeds, erosion."""
    import tomllib

    from .config import parse

    raw = tomllib.loads(DEMO_CONFIG.read_text())
    raw["model"]["n"] = n
    raw["protocol"]["t_insert"] = t_insert
    raw["protocol"]["t_end"] = t_end
    dt = raw["model"]["dt"]
    raw["protocol"]["save_every"] = max(1, round(t_end / 60 / dt)) * dt
    raw["sweep"]["seeds"] = seeds
    return parse(raw)


def cmd_demo(args) -> int:
    cfg = demo_config(args.seeds, args.n, args.t_insert, args.t_end)
    print(
        f"sleepjax demo: erosion of real vs imaginary memories under 3 homeostasis "
        f"rules, {args.seeds} seeds each, N = {args.n}, t = 0..{args.t_end:g} "
        f"(memory inserted at {args.t_insert:g})."
    )
    execute(cfg, Path(args.out), overwrite=args.overwrite, quiet=args.quiet)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sleepjax",
        description="Differentiable, vmapped plastic networks with noise and sleep.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="a small real sweep: erosion of memories (minutes)")
    d.add_argument("--out", default="sleepjax-demo", help="output folder")
    d.add_argument("--seeds", type=int, default=16)
    d.add_argument("--n", type=int, default=64, help="neurons per network")
    d.add_argument("--t-insert", type=float, default=1000.0)
    d.add_argument("--t-end", type=float, default=3000.0)
    d.add_argument("--overwrite", action="store_true")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("run", help="run a TOML config (a protocol, optionally a sweep)")
    r.add_argument("config", help="TOML configuration file")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument(
        "--overwrite", action="store_true", help="replace a different run in --out"
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    try:
        from .fit._cli import add_parser as add_fit_parser
    except ImportError:  # pragma: no cover - fit not installed
        add_fit_parser = None
    if add_fit_parser is not None:
        add_fit_parser(sub)

    from .sweep import add_plot_parser

    add_plot_parser(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .config import ConfigError

    try:
        return int(args.func(args) or 0)
    except (ConfigError, ValueError, TypeError, FileNotFoundError) as e:
        return _error(str(e))
    except KeyboardInterrupt:
        return _error("interrupted; re-run the same command to resume.")


if __name__ == "__main__":
    sys.exit(main())
