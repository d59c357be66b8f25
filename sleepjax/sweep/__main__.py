"""`python -m sleepjax.sweep CONFIG --out DIR [--overwrite] [--quiet] [--devices K]`.

Runs (or resumes) the sweep of a TOML config into `DIR/results.zarr` without
drawing any figure: `sleepjax run --no-report` (see `sleepjax.cli`).
"""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "--no-report", *sys.argv[1:]]))
