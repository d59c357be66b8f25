"""Write tests/data/reference.npz: small versions of the demo and the four
Susman examples, run in memory. tests/test_reference.py compares every run
with it bitwise on the platform that wrote it (`platform_key`: the same
architecture, OS, jaxlib and CPU vector extensions, for XLA compiles for the
host's) and to 1e-5 elsewhere.

Regenerate only when a change is *meant* to alter results, in a commit of its
own that says why:  python tests/data/make_reference.py
"""

from __future__ import annotations

import platform
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("reference.npz")

#: name -> (config file, overrides per section): tiny sizes and horizons
CASES = {
    "erosion": (
        "examples/erosion.toml",
        {
            "model": {"n": 16},
            "protocol": {"t_insert": 20.0, "t_end": 60.0, "save_every": 10.0},
            "run": {"snapshot_times": None, "snapshot_leaves": None},  # None: drop
            "sweep": {"seeds": 2, "batch": 2},
        },
    ),
    "learning": (
        "examples/learning.toml",
        {
            "model": {"n": 16},
            "protocol": {"window": [10.0, 30.0], "t_end": 60.0, "save_every": 5.0},
            "sweep": {"seeds": 2},
        },
    ),
    "limit_cycle": (
        "examples/limit_cycle.toml",
        {
            "model": {"n": 16},
            "protocol": {"t_end": 20.0, "n_planes": 1, "save_every": 1.0},
        },
    ),
    "life_cycle": (
        "examples/life_cycle.toml",
        {
            "model": {"n": 64},
            "protocol": {
                "windows": [[10.0, 20.0], [30.0, 40.0]],
                "t_retain": 50.0,
                "cue_gap": 10.0,
                "cue_window": 5.0,
                "save_every": 5.0,
                "cue_save_every": 0.5,
            },
            "sweep": {"seeds": 2},
        },
    ),
}


#: the demo as `sleepjax demo --seeds 2 --n 16 --t-insert 20 --t-end 60` runs it
DEMO = dict(seeds=2, n=16, t_insert=20.0, t_end=60.0)


def config(name: str):
    """The validated config of one case."""
    from sleepjax.cli import demo_config
    from sleepjax.config import parse

    if name == "demo":
        return demo_config(**DEMO)
    path, override = CASES[name]
    raw = tomllib.loads((ROOT / path).read_text())
    for section, values in override.items():
        table = raw.setdefault(section, {})
        for key, value in values.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    return parse(raw)


def run(name: str) -> dict[str, np.ndarray]:
    """Every saved variable and the status of one case, in memory."""
    from sleepjax.sweep import sweep

    res = sweep(config(name), None, quiet=True)
    out = {f"{name}/{k}": np.asarray(v) for k, v in res.data.items()}
    out[f"{name}/status"] = np.asarray(res.status)
    out[f"{name}/time"] = np.asarray(res.time)
    return out


def platform_key() -> str:
    """What decides the bits of a run here: architecture, OS, jaxlib version
    and the CPU's vector extensions (XLA compiles for the host's; LAPACK's
    kernels dispatch on them too)."""
    import jaxlib

    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = sorted(
                    f
                    for f in line.split(":", 1)[1].split()
                    if f.startswith(("avx", "fma", "amx", "sse", "asimd", "sve"))
                )
                break
    except OSError:
        flags = [platform.processor()]
    return "-".join(
        [platform.machine(), sys.platform, f"jaxlib{jaxlib.__version__}", *flags]
    )


def main() -> int:
    arrays = {}
    for name in ("demo", *CASES):
        arrays.update(run(name))
    arrays["platform"] = np.array(platform_key())
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(arrays)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
