"""`python -m sleepjax.sweep CONFIG --out DIR [--overwrite] [--quiet] [--devices K]`.

Runs (or resumes) the sweep of a TOML config into `DIR/results.zarr` without
drawing any figure: the same as `sleepjax run` minus the protocol report.
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sleepjax.sweep", description=__doc__)
    p.add_argument("config", help="TOML configuration file")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="log lines, no progress bar")
    p.add_argument("--devices", type=int, default=None, help="local devices to use")
    args = p.parse_args(argv)

    from ..config import ConfigError, load
    from . import sweep

    try:
        cfg = load(args.config)
        sweep(
            cfg,
            args.out,
            overwrite=args.overwrite,
            quiet=args.quiet,
            devices=args.devices,
        )
    except (ConfigError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
