r"""GPU throughput of the weight-noise workload, against the device's bandwidth.

Workload: the throughput workload (`benchmarks/throughput.py`: decorrelation +
antisymmetric STDP + weight noise σ² = 1/N, float32, dt = 0.1) at B = 4096
networks of N = 128 neurons, vmapped on one device. Measured in one run:

1. the device's **copy bandwidth**: a jitted `y = x + 1` over a large float32
   array (read + write), bytes moved / time;
2. **net-steps/s** of `sleepjax.simulate` (default Euler), multirate stepping
   and the hand-written `lax.scan` floor;
3. the **weight-update traffic** each achieves: every step must read and write
   W, 2 × 4 B × B × N² bytes (the minimum, whatever else the step does);
   divided by the step time it is a bandwidth, reported as a fraction of the
   measured copy bandwidth (target ≥ 50 % for single-rate Euler).

Run it where a GPU is present (`python benchmarks/gpu.py --json gpu.json`) and
record the printed markdown row in `benchmarks/RESULTS.md`. `--cpu-smoke` runs
tiny sizes on any device, to prove the script works.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sleepjax as sj  # noqa: E402
from benchmarks import _baselines as bl  # noqa: E402
from benchmarks.throughput import sleepjax_baseline  # noqa: E402


def copy_bandwidth(n_bytes: int, repeats: int) -> dict:
    """Bytes read + written per second by a jitted elementwise `x + 1`."""
    n = n_bytes // 4
    x = jnp.zeros((n,), jnp.float32)
    f = jax.jit(lambda a: a + 1.0).lower(x).compile()
    jax.block_until_ready(f(x))
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(x))
        ts.append(time.perf_counter() - t0)
    t = statistics.median(ts)
    return {"bytes": 2 * 4 * n, "seconds": t, "bytes_per_s": 2 * 4 * n / t}


def time_runs(runs: dict, repeats: int) -> dict:
    for f in runs.values():
        f()
    times = {k: [] for k in runs}
    for _ in range(repeats):
        for k, f in runs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-smoke", action="store_true", help="tiny sizes, any device")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--k", type=int, default=10, help="multirate substeps")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--copy-mb", type=float, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    smoke = args.cpu_smoke
    n = args.n or (16 if smoke else 128)
    batch = args.batch or (8 if smoke else 4096)
    steps = args.steps or (20 if smoke else 200)
    copy_mb = args.copy_mb or (16 if smoke else 2048)
    dev = jax.devices()[0]
    if not smoke and dev.platform == "cpu":
        print(
            "gpu.py: no accelerator found (jax.devices() is CPU); use --cpu-smoke "
            "to check the script on a CPU.",
            file=sys.stderr,
        )
        return 2
    print(
        f"device: {dev.platform} {dev.device_kind}; jax {jax.__version__}; "
        f"N = {n}, B = {batch}, {steps} steps; {time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    bw = copy_bandwidth(int(copy_mb * 2**20), args.repeats)
    print(f"copy bandwidth (x + 1, {copy_mb:g} MB): {bw['bytes_per_s'] / 1e9:.1f} GB/s")

    builds = {
        "sleepjax": sleepjax_baseline(n, batch, steps, 0),
        f"sleepjax multirate k={args.k}": sleepjax_baseline(
            n, batch, steps, 0, solver=sj.MultirateEuler(args.k), name="multirate"
        ),
        "floor": bl.floor(n, batch, steps, 0),
    }
    times = time_runs({k: b.run for k, b in builds.items()}, args.repeats)
    w_bytes = 2 * 4 * batch * n * n  # W read + written, per step
    results = {}
    for name, t in times.items():
        per_step = t / steps
        achieved = w_bytes / per_step
        results[name] = {
            "seconds": t,
            "net_steps_per_s": batch * steps / t,
            "w_traffic_bytes_per_s": achieved,
            "fraction_of_copy_bandwidth": achieved / bw["bytes_per_s"],
        }
        print(
            f"  {name:24s} {batch * steps / t:14.0f} net-steps/s   W traffic "
            f"{achieved / 1e9:8.1f} GB/s = {100 * achieved / bw['bytes_per_s']:5.1f} % "
            "of copy bandwidth"
        )
    sjx = results["sleepjax"]
    print(
        "\nmarkdown row (benchmarks/RESULTS.md, GPU table):\n"
        f"| {time.strftime('%Y-%m-%d')} | {dev.device_kind} | jax {jax.__version__} | "
        f"N={n}, B={batch} | {bw['bytes_per_s'] / 1e9:.0f} GB/s | "
        f"{sjx['net_steps_per_s']:.3g} | "
        f"{100 * sjx['fraction_of_copy_bandwidth']:.0f} % | "
        f"{results['floor']['net_steps_per_s']:.3g} | "
        f"{results[f'sleepjax multirate k={args.k}']['net_steps_per_s']:.3g} |"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "meta": {
                        "device": f"{dev.platform} {dev.device_kind}",
                        "jax": jax.__version__,
                        "n": n,
                        "batch": batch,
                        "steps": steps,
                        "date": time.strftime("%Y-%m-%d"),
                        "smoke": smoke,
                    },
                    "copy_bandwidth": bw,
                    "w_bytes_per_step": w_bytes,
                    "results": results,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
