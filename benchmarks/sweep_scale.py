"""A sweep at scale: 10,000 networks of N = 64 over 1000 time units.

Erosion protocol (Susman et al. 2019) with dissipation homeostasis and weight
noise, multirate Euler–Maruyama (weights every 10 neuron steps, dt = 0.1):
10 noise levels × 10 dissipation rates β × 100 seeds. Reports the wall time,
the peak resident memory, the compile time and the networks per second, and
writes them to OUT/benchmark.json. The results store in OUT is resumable:
kill the run and start the same command again to continue it.

    python benchmarks/sweep_scale.py --out runs/scale              # 10,000
    python benchmarks/sweep_scale.py --networks 1000 --out runs/s1k # a subset

On a CPU, `--host-devices K` splits the host into K XLA devices that the
sweep shards over; on a GPU the same config runs unchanged on the GPU(s)
(try `--n 128`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--networks", type=int, default=10_000, help="multiple of 100")
    p.add_argument("--n", type=int, default=64, help="neurons per network")
    p.add_argument("--t-end", type=float, default=1000.0)
    p.add_argument("--solver", default="multirate", choices=("multirate", "euler"))
    p.add_argument("--prng", default="threefry2x32")
    p.add_argument("--chunk-size", type=int, default=0, help="0: automatic")
    p.add_argument("--batch", type=int, default=0, help="networks per device call")
    p.add_argument(
        "--host-devices",
        type=int,
        default=1,
        help="XLA CPU devices to split the host into (CPU only); on a busy "
        "2-core host 2 devices were no faster than 1",
    )
    p.add_argument("--out", required=True, help="output folder (resumable)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def scale_config(args):
    """The sweep as a config dict (what a TOML file would hold)."""
    if args.networks % 100:
        raise SystemExit("--networks must be a multiple of 100 (10 × 10 × seeds)")
    noise = [round(0.25 * 2 ** (k / 2.25), 4) for k in range(10)]  # 0.25 .. 4
    beta = [round(0.02 * 1.43**k, 4) for k in range(10)]  # 0.02 .. 0.5
    sweep = {
        "seeds": args.networks // 100,
        "grid": {"model.noise": noise, "model.beta": beta},
    }
    if args.batch:
        sweep["batch"] = args.batch
    return {
        "model": {"name": "susman", "n": args.n, "rule": "dissipation", "dt": 0.1},
        "protocol": {
            "name": "erosion",
            "code": "imaginary",
            "t_insert": round(0.3 * args.t_end, 1),
            "t_end": args.t_end,
            "save_every": args.t_end / 20,
        },
        "run": {
            "seed": 0,
            "solver": args.solver,
            "substeps": 10,
            "prng": args.prng,
            "chunk_size": args.chunk_size,
        },
        "sweep": sweep,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    flags = os.environ.get("XLA_FLAGS", "")
    if args.host_devices > 1 and "host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={args.host_devices}"
        ).strip()
        # one more pool thread than devices: batched LAPACK calls (eig) wait
        # for helper tasks on the pool that runs the devices
        os.environ.setdefault("NPROC", str(args.host_devices + 1))
    import jax

    from sleepjax.config import parse
    from sleepjax.sweep import sweep

    cfg = parse(scale_config(args))
    t0 = time.perf_counter()
    result = sweep(cfg, args.out, overwrite=args.overwrite, quiet=args.quiet)
    wall = time.perf_counter() - t0
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    s = result.summary
    report = {
        "networks": cfg.raw["sweep"]["seeds"] * 100,
        "n": args.n,
        "t_end": args.t_end,
        "steps_per_network": int(round(args.t_end / 0.1)),
        "solver": args.solver,
        "prng": args.prng,
        "devices": s.get("devices"),
        "cpu_count": os.cpu_count(),
        "wall_s": round(wall, 1),
        "compile_s": round(s.get("compile_seconds", 0.0), 1),
        "networks_per_s": round(s.get("networks_per_second", 0.0), 3),
        "peak_rss_mib": round(rss_kib / 1024, 1),
        "ok": s["ok"],
        "failed": s["n_networks"] - s["ok"],
        "resumed": len(result.store.attrs.get("resumed", [])),
        "jax": jax.__version__,
    }
    print(json.dumps(report, indent=2))
    Path(args.out, "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
