"""Table, targets and figure of `benchmarks/peers.py` (from its result dict)."""

from __future__ import annotations

import statistics

OURS = ("sleepjax", "sleepjax_multirate")
STYLE = {
    "sleepjax": ("C0", "o-"),
    "sleepjax_multirate": ("C0", "s--"),
    "sleepjax_store_all": ("navy", "o:"),
    "numpy": ("C2", "x-"),
    "diffrax_vbt": ("C3", "v:"),
    "brainpy": ("C4", "D-"),
    "brainstate": ("C9", "d-"),
    "torchsde": ("C1", "^-"),
    "brian2_numpy": ("C5", "<-"),
    "brian2_cython": ("C6", ">-"),
    "brian2_cpp_standalone": ("C7", "P-"),
    "brian2_cpp_standalone_omp": ("C8", "*-"),
}


def _paired(a, b) -> float:
    """Median over rounds of a_r / b_r (two peers' times of the same round)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def targets(result) -> list[dict]:
    """Per B ≥ 64: the fastest peer (wall median), sleepjax / it (target
    1.2) and multirate / it (target 5), each the median of per-round ratios."""
    out = []
    by_b: dict[int, dict] = {}
    for r in result["rows"]:
        if "wall_all" in r:
            by_b.setdefault(r["batch"], {})[r["impl"]] = r
    for b, rows in sorted(by_b.items()):
        peers = {k: v for k, v in rows.items() if k not in OURS}
        if b < 64 or not peers or "sleepjax" not in rows:
            continue
        best = max(peers, key=lambda k: peers[k]["net_steps_per_s"])
        t = {
            "batch": b,
            "fastest_peer": best,
            "sleepjax_vs_fastest": _paired(
                peers[best]["wall_all"], rows["sleepjax"]["wall_all"]
            ),
            "sleepjax_vs_fastest_cpu": _paired(
                peers[best]["cpu_all"], rows["sleepjax"]["cpu_all"]
            ),
        }
        t["sleepjax_target_met"] = t["sleepjax_vs_fastest"] >= 1.2
        if "sleepjax_multirate" in rows:
            mr = rows["sleepjax_multirate"]
            t["multirate_vs_fastest"] = _paired(peers[best]["wall_all"], mr["wall_all"])
            t["multirate_vs_fastest_cpu"] = _paired(
                peers[best]["cpu_all"], mr["cpu_all"]
            )
            t["multirate_vs_sleepjax"] = _paired(
                rows["sleepjax"]["wall_all"], mr["wall_all"]
            )
            t["multirate_target_met"] = t["multirate_vs_fastest"] >= 5
        out.append(t)
    return out


def print_table(result) -> None:
    rows = result["rows"]
    print()
    print("=" * 96)
    print(
        f"{'B':>5} {'steps':>5} {'peer':25s} {'net-steps/s':>11} {'sleepjax/peer':>13} "
        f"{'(cpu)':>7} {'wall s':>8} {'cpu s':>8}  where"
    )
    for r in rows:
        if "skipped" in r:
            print(f"{r['batch']:5d} {r['steps']:5d} {r['impl']:25s} {r['skipped']}")
            continue
        print(
            f"{r['batch']:5d} {r['steps']:5d} {r['impl']:25s} "
            f"{r['net_steps_per_s']:11.0f} "
            f"{r.get('sj_over_peer', float('nan')):13.2f} "
            f"{r.get('sj_over_peer_cpu', float('nan')):7.2f} {r['wall_s']:8.3f} "
            f"{r['cpu_s']:8.3f}  {r['where']}"
        )
    for name, why in {**result["not_run"], **result["excluded"]}.items():
        print(f"not compared: {name}: {why}")
    result["targets"] = targets(result)
    for t in result["targets"]:
        line = (
            f"B = {t['batch']}: fastest peer {t['fastest_peer']}; sleepjax / it "
            f"{t['sleepjax_vs_fastest']:.2f}x "
            f"(cpu {t['sleepjax_vs_fastest_cpu']:.2f}x, "
            f"target 1.2: {'met' if t['sleepjax_target_met'] else 'MISSED'})"
        )
        if "multirate_vs_fastest" in t:
            line += (
                f"; MultirateEuler(10) / it {t['multirate_vs_fastest']:.2f}x (cpu "
                f"{t['multirate_vs_fastest_cpu']:.2f}x, target 5: "
                f"{'met' if t['multirate_target_met'] else 'MISSED'}); multirate / "
                f"default {t['multirate_vs_sleepjax']:.2f}x"
            )
        print(line)
    g = result.get("gradient") or {}
    if g:
        print("gradient through 10³ noisy steps (one value_and_grad):")
        for name, d in g.items():
            if "error" in d:
                print(f"  {name:18s} failed: {d['error']}")
                continue
            print(
                f"  {name:18s} {d['seconds']:8.3f} s  sleepjax/peer "
                f"{d.get('sj_over_peer', float('nan')):6.2f}  grad {d['grad']:+.5e} "
                f"FD {d['fd']:+.5e} (rel {d['rel_err_fd']:.1e}, "
                f"{'ok' if d['ok'] else 'MISMATCH'})"
            )
    m = result["meta"]
    print(f"load average: start {m['loadavg_start']}, end {m['loadavg_end']}")


def plot(result, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if "wall_all" in r]
    impls = [i for i in STYLE if any(r["impl"] == i for r in rows)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
    ax = axes[0]
    for i in impls:
        pts = sorted((r["batch"], r["net_steps_per_s"]) for r in rows if r["impl"] == i)
        c, s = STYLE[i]
        ax.plot(*zip(*pts, strict=True), s, color=c, label=i, ms=5)
    ax.set(xscale="log", yscale="log", xlabel="networks B", ylabel="network-steps / s")
    ax.set_title(f"throughput, N = {result['settings']['n']} (wall-clock median)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))

    ax = axes[1]
    bs = sorted({r["batch"] for r in rows})
    peers = [i for i in impls if i != "sleepjax"]
    width = 0.8 / max(len(peers), 1)
    for j, i in enumerate(peers):
        xs, ys = [], []
        for k, b in enumerate(bs):
            r = next((r for r in rows if r["impl"] == i and r["batch"] == b), None)
            if r and "sj_over_peer" in r:
                xs.append(k + (j - len(peers) / 2 + 0.5) * width)
                ys.append(r["sj_over_peer"])
        ax.bar(xs, ys, width, color=STYLE[i][0], label=i)
    ax.axhline(1, color="k", lw=0.8)
    ax.axhline(1.2, color="k", lw=0.8, ls="--")
    ax.set(yscale="log", xticks=range(len(bs)), xticklabels=[f"B = {b}" for b in bs])
    ax.set_ylabel("sleepjax speed / peer speed")
    ax.set_title("sleepjax / peer (> 1: sleepjax faster; dashed: target 1.2)")
    ax.grid(alpha=0.3, axis="y", which="both")
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.08))

    ax = axes[2]
    g = {k: v for k, v in (result.get("gradient") or {}).items() if "seconds" in v}
    if g:
        names = list(g)
        ax.bar(
            names, [g[k]["seconds"] for k in names], color=[STYLE[k][0] for k in names]
        )
        for k, name in enumerate(names):
            ok = "FD ok" if g[name]["ok"] else "FD MISMATCH"
            ax.text(k, g[name]["seconds"], ok, ha="center", va="bottom", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("seconds per value_and_grad")
        gs = result.get("gradient_setting", {})
        ax.set_title(
            f"one gradient through 10³ noisy steps (N = {gs.get('n')}, "
            f"B = {gs.get('batch')})"
        )
        ax.tick_params(axis="x", labelsize=7)
    else:
        ax.set_axis_off()
    fig.suptitle(
        f"sleepjax vs peers, {result['meta']['date']}, {result['meta']['cpus']} shared "
        f"CPUs, load average {[round(x, 1) for x in result['meta']['loadavg_start']]}"
        " at start",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
