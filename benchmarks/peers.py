r"""sleepjax side by side with the simulators a user would otherwise pick.

Workload (SPEC §1, `benchmarks/_peers_common.py`): decorrelation learning with
antisymmetric rate STDP, b·I = 0.5·I, x̄ a low-pass (τ_x = 20), τ_y = 50,
η = 0.01, weight noise η σ dB on every W_ij (σ² = 1/N, Wiener increments),
no input, N = 128, Euler–Maruyama with Δt = 0.1, float32, B independent
networks, all peers from the same initial state. Peers:

``sleepjax`` / ``sleepjax_multirate``
    `sleepjax.simulate` with its defaults, and with `MultirateEuler(10)`.
``numpy``
    a batched NumPy loop (the authors' MATLAB per-step matrix code, batched).
``diffrax_vbt``
    diffrax used directly: `Euler`, `ControlTerm` on W with a
    `VirtualBrownianTree(tol = Δt/2)`, vmapped.
``brainpy``
    `brainpy.sdeint(method="euler")` in a `DynamicalSystem`, `for_loop`, jit.
``brainstate``
    BrainPy's newer stack: `braintools.quad.sde_euler_step` on
    `brainstate.ShortTermState`s, `brainstate.transform.for_loop`, jit.
``torchsde``
    `torchsde.sdeint(method="euler")`, diagonal noise, `BrownianInterval`.
``brian2_numpy`` / ``brian2_cython`` / ``brian2_cpp_standalone`` (``_omp``)
    a `NeuronGroup` of rate units and the weights as a `Synapses` variable with
    `xi` noise, on each code-generation target (standalone without OpenMP and
    with one thread per core).

Brian2, BrainPy, brainstate and torchsde run in their own virtual environments
(`benchmarks/.venvs/`, created on first use; see `_peers_drivers.py`), each
driven over a pipe; their times are measured inside their own process.

Method. Before timing, a same-work check: every peer runs B_c networks from
one identical state; the mean over networks of W's mean, variance and
spectral abscissa (max Re λ) and the across-network spread of W (the noise's
doing) must agree with sleepjax's within 4 combined standard errors, else the
peer is excluded with the reason. Timing: at each B every peer does the same
networks × steps; after a warm-up, `repeats` rounds call every peer once in
turn (order rotated each round), wall-clock (perf_counter) and CPU time
(process_time; Brian2 standalone's child process included). The ratio
sleepjax / peer is the median over rounds of t_peer / t_sleepjax, so each
ratio comes from runs side by side. Gradient workload: one gradient through
10³ noisy steps (`_peers_grad.py`), checked against central finite
differences in each peer.

Usage::

    python benchmarks/peers.py --quick        # B ∈ {1, 64}, < 10 min
    python benchmarks/peers.py                # B ∈ {1, 64, 1024}
    python benchmarks/peers.py --peers numpy brainpy --batch 64
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sleepjax as sj  # noqa: E402
from benchmarks import _baselines as bl  # noqa: E402
from benchmarks import _peers_common as pc  # noqa: E402
from benchmarks import _peers_grad as pg  # noqa: E402
from benchmarks._peers_drivers import VENVS, LocalPeer, WorkerPeer  # noqa: E402
from benchmarks._peers_report import plot, print_table  # noqa: E402
from benchmarks.throughput import sleepjax_baseline  # noqa: E402

N = 128
K = 10  # MultirateEuler's documented k
PEERS = (
    "numpy",
    "diffrax_vbt",
    "brainpy",
    "brainstate",
    "torchsde",
    "brian2_numpy",
    "brian2_cython",
    "brian2_cpp_standalone",
    "brian2_cpp_standalone_omp",
)
OURS = ("sleepjax", "sleepjax_multirate")
# Largest B at which a slow peer is timed (its run would take minutes).
MAX_B = {
    "diffrax_vbt": 64,
    "brian2_numpy": 256,
    "brian2_cython": 256,
    "brian2_cpp_standalone": 256,
    "brian2_cpp_standalone_omp": 256,
}
GRAD_PEERS = ("sleepjax", "sleepjax_store_all", "diffrax_vbt", "brainpy", "torchsde")


def make_peers(names, log, quick=False) -> dict:
    p = bl.Params()
    local = {
        "sleepjax": lambda n, b, s, seed, same: sleepjax_baseline(
            n, b, s, seed, same_init=same
        ),
        "sleepjax_multirate": lambda n, b, s, seed, same: sleepjax_baseline(
            n, b, s, seed, same_init=same, solver=sj.MultirateEuler(K)
        ),
        "numpy": lambda n, b, s, seed, same: bl.numpy_loop(
            n, b, s, seed, params=p, same_init=same
        ),
        "diffrax_vbt": lambda n, b, s, seed, same: bl.diffrax_vbt(
            n, b, s, seed, diffusion="w_only", same_init=same
        ),
    }
    grads = {"sleepjax": pg.sleepjax_grad, "diffrax_vbt": pg.diffrax_grad}
    if quick:  # diffrax's gradient takes ~15x sleepjax's: time it once
        grads["diffrax_vbt"] = functools.partial(pg.diffrax_grad, repeats=1)
    remote = {
        "brainpy": ("brainpy", "_peers_brainpy", ""),
        "brainstate": ("brainpy", "_peers_brainstate", ""),
        "torchsde": ("torch", "_peers_torch", ""),
        "brian2_numpy": ("brian2", "_peers_brian2", "numpy"),
        "brian2_cython": ("brian2", "_peers_brian2", "cython"),
        "brian2_cpp_standalone": ("brian2", "_peers_brian2", "cpp_standalone"),
        "brian2_cpp_standalone_omp": ("brian2", "_peers_brian2", "cpp_standalone_omp"),
    }
    peers, failed = {}, {}
    for name in names:
        if name in local:
            peers[name] = LocalPeer(name, local[name], grads.get(name))
            continue
        w = WorkerPeer(name, *remote[name], log=log)
        if w.start():
            peers[name] = w
            log(f"  {name}: {w.versions()} (own venv benchmarks/.venvs/{w.venv})")
        else:
            failed[name] = w.error
            log(f"  {name}: NOT RUN: {w.error}")
            w.close()
    return peers, failed


def same_work(peers, batch, steps, log) -> dict:
    """Stats of every peer from one identical start; z against sleepjax."""
    out = {}
    for name, peer in peers.items():
        try:
            peer.build("check", N, batch, steps, 1, same_init=True)
            out[name] = {"stats": peer.stats("check")}
        except Exception as e:
            out[name] = {"error": str(e)}
        peer.drop("check")
    ref = out["sleepjax"]["stats"]
    for name, d in out.items():
        if "error" in d:
            d["ok"], d["reason"] = False, f"failed to run: {d['error']}"
        elif not d["stats"]["finite"]:
            d["ok"], d["reason"] = False, "non-finite state"
        else:
            z = pc.z_scores(d["stats"], ref)
            d["z"] = z
            bad = [k for k, v in z.items() if not abs(v) < 4]
            d["ok"] = not bad
            d["reason"] = "" if not bad else f"differs from sleepjax in {bad}"
        s = d.get("stats", {})
        log(
            f"  {name:25s} "
            + (
                f"mean {s['w_mean']:+.5f} var {s['w_var']:.5f} "
                f"max Re λ {s['eig_re']:.4f} spread {s['w_spread']:.3e}  z: "
                + " ".join(f"{k} {v:+.1f}" for k, v in d.get("z", {}).items())
                if s
                else ""
            )
            + ("  ok" if d["ok"] else f"  EXCLUDED: {d['reason']}")
        )
    return out


def time_cell(peers, batch, steps, repeats, log) -> list[dict]:
    key = f"b{batch}"
    live, notes = {}, {}
    for name, peer in peers.items():
        if batch > MAX_B.get(name, 1 << 30):
            notes[name] = f"not timed: B > {MAX_B[name]} (too slow here)"
            continue
        try:
            info = peer.build(key, N, batch, steps, 0)
            live[name] = info.get("compile_s", 0.0)
        except Exception as e:
            notes[name] = f"failed: {e}"
    wall = {k: [] for k in live}
    cpu = {k: [] for k in live}
    order = list(live)
    for r in range(repeats):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            try:
                w, c = peers[name].run(key)
            except Exception as e:
                notes[name] = f"failed: {e}"
                continue
            wall[name].append(w)
            cpu[name].append(c)
    for peer in peers.values():
        peer.drop(key)
    rows = []
    ref_w, ref_c = wall.get("sleepjax"), cpu.get("sleepjax")
    for name in peers:
        row = {"impl": name, "n": N, "batch": batch, "steps": steps}
        if name in notes or len(wall.get(name, [])) < repeats:
            row["skipped"] = notes.get(name, "failed")
            rows.append(row)
            continue
        tw, tc = wall[name], cpu[name]
        row.update(
            where=peers[name].where,
            wall_s=statistics.median(tw),
            cpu_s=statistics.median(tc),
            net_steps_per_s=batch * steps / statistics.median(tw),
            net_steps_per_cpu_s=batch * steps / statistics.median(tc),
            build_s=live[name],
            repeats=repeats,
            wall_all=tw,
            cpu_all=tc,
        )
        if ref_w and len(ref_w) == len(tw):
            # sleepjax / peer speed = t_peer / t_sleepjax, round by round
            row["sj_over_peer"] = statistics.median(
                a / b for a, b in zip(tw, ref_w, strict=True)
            )
            row["sj_over_peer_cpu"] = statistics.median(
                a / b for a, b in zip(tc, ref_c, strict=True)
            )
        rows.append(row)
    for row in rows:
        if "skipped" in row:
            log(f"  B={batch:5d} {row['impl']:25s} {row['skipped']}")
        else:
            log(
                f"  B={batch:5d} {row['impl']:25s} {row['net_steps_per_s']:10.0f} "
                f"net-steps/s  sleepjax/peer {row.get('sj_over_peer', 0):7.2f} "
                f"(cpu {row.get('sj_over_peer_cpu', 0):6.2f})  "
                f"[{row['wall_s']:.3f} s, cpu/wall {row['cpu_s'] / row['wall_s']:.2f}]"
            )
    return rows


def gradients(peers, n, batch, log) -> dict:
    out = {}
    for name in GRAD_PEERS:
        peer = peers.get(name)
        if name == "sleepjax_store_all" and "sleepjax" in peers:
            peer = LocalPeer(name, None, pg.sleepjax_store_all_grad)
        if peer is None:
            continue
        try:
            g = peer.grad(n, batch, 0)
        except Exception as e:
            out[name] = {"error": str(e)}
            log(f"  {name:18s} failed: {e}")
            continue
        g["rel_err_fd"] = abs(g["grad"] - g["fd"]) / max(abs(g["fd"]), 1e-30)
        g["ok"] = g["rel_err_fd"] < 1e-2
        out[name] = g
    ref = out.get("sleepjax", {}).get("seconds")
    for name, g in out.items():
        if "error" in g:
            continue
        if ref:
            g["sj_over_peer"] = g["seconds"] / ref
        log(
            f"  {name:18s} dL/db {g['grad']:+.6e}  FD {g['fd']:+.6e}  rel "
            f"{g['rel_err_fd']:.1e} {'ok' if g['ok'] else 'MISMATCH'}  "
            f"{g['seconds']:8.3f} s (forward {g['forward_seconds']:.3f} s)  "
            f"sleepjax/peer {g.get('sj_over_peer', float('nan')):.2f}"
        )
    return out


def loadavg():
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="B ∈ {1, 64}, < 10 min")
    ap.add_argument("--batch", type=int, nargs="+", default=None)
    ap.add_argument("--peers", nargs="+", default=None, choices=PEERS)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None, help="steps at every B")
    ap.add_argument("--no-grad", action="store_true")
    ap.add_argument("--grad-n", type=int, default=None, help="N of the gradient")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "peers.json"))
    ap.add_argument("--plot", default=str(ROOT / "benchmarks" / "peers.png"))
    args = ap.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    # Compiled XLA programs are kept between runs (git-ignored folder).
    jax.config.update("jax_compilation_cache_dir", str(VENVS / "jax_cache"))
    batches = args.batch or ([1, 64] if args.quick else [1, 64, 1024])
    repeats = args.repeats or (3 if args.quick else 5)
    # Steps per cell: every peer does the same B × steps.
    steps = {b: (200 if b == 1 else 20 if args.quick else 50) for b in batches}
    if args.steps:
        steps = dict.fromkeys(batches, args.steps)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "diffrax": __import__("diffrax").__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "loadavg_start": loadavg(),
        "command": "python benchmarks/peers.py " + " ".join(argv or sys.argv[1:]),
    }
    log(
        f"sleepjax vs peers: {meta['date']}, N = {N}, float32, dt = {pc.DT}, "
        f"{meta['cpus']} CPUs, load {meta['loadavg_start']}"
    )
    log("starting peers (Brian2, BrainPy, brainstate, torchsde in their own venvs):")
    # Quick mode leaves out Brian2's OpenMP build (a second C++ build per B,
    # and slower than the single-threaded one on this loaded machine).
    default = [p for p in PEERS if not (args.quick and p.endswith("_omp"))]
    names = (*OURS, *(args.peers or default))
    peers, failed = make_peers(names, log, args.quick)
    meta["versions"] = {n: p.versions() for n, p in peers.items()}
    try:
        cb, cs = (8, 50) if args.quick else (16, 100)
        log(f"same work: {cb} networks from one state, {cs} steps:")
        check = same_work(peers, cb, cs, log)
        excluded = {n: d["reason"] for n, d in check.items() if not d["ok"]}
        for n in excluded:
            if n != "sleepjax":
                peers.pop(n).close()
        rows = []
        for b in batches:
            log(
                f"timing B = {b} ({steps[b]} steps, {repeats} rounds), "
                f"load {loadavg()}:"
            )
            rows += time_cell(peers, b, steps[b], repeats, log)
        grad, gn, gb = {}, None, None
        if not args.no_grad:
            gn, gb = (32, 1) if args.quick else (N, 1)
            gn = args.grad_n or gn
            log(
                f"gradient: d/db of mean(W²)+mean(x²) through {pc.GRAD_STEPS} noisy "
                f"steps, N = {gn}, B = {gb}, load {loadavg()}:"
            )
            grad = gradients(peers, gn, gb, log)
    finally:
        for p in peers.values():
            p.close()
    meta["loadavg_end"] = loadavg()
    meta["wall_s"] = time.perf_counter() - t_start
    result = {
        "meta": meta,
        "settings": {"n": N, "k": K, "repeats": repeats, "steps": steps},
        "not_run": failed,
        "same_work": check,
        "excluded": excluded,
        "rows": rows,
        "gradient": grad,
        "gradient_setting": {"n": gn, "batch": gb, "steps": pc.GRAD_STEPS},
    }
    print_table(result)
    Path(args.json).write_text(json.dumps(result, indent=1))
    plot(result, args.plot)
    log(f"wrote {args.json} and {args.plot}; wall time {meta['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
