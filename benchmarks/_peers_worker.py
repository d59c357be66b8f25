"""A peer served to `benchmarks/peers.py` from its own virtual environment.

Run as `<venv>/bin/python benchmarks/_peers_worker.py MODULE`, where MODULE is
`_peers_brian2`, `_peers_brainpy` or `_peers_torch` (files beside this one).
It reads one JSON request per line on stdin and answers one JSON line on the
original stdout; anything the libraries print goes to stderr (the caller
keeps it in a log file). Requests:

- `{"op": "versions"}` -> the peer's package versions;
- `{"op": "build", "key", "variant", "n", "batch", "steps", "seed",
  "same_init"}` -> builds (compiles) and runs once untimed; `compile_s`, `info`;
- `{"op": "run", "key"}` -> one timed run: `wall` (perf_counter) and `cpu`
  (process_time of this process and, for Brian2's standalone binary, its
  children) seconds;
- `{"op": "stats", "key"}` -> one run and `_peers_common.w_stats` of it;
- `{"op": "drop", "key"}`; `{"op": "grad", "variant", "n", "batch", "seed"}`
  -> the gradient workload (`grad`, `fd`, `seconds`); `{"op": "quit"}`.

A failure answers `{"error": "..."}` and the worker carries on.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _peers_common as pc  # noqa: E402


def cpu_time() -> float:
    """CPU seconds of this process and its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def serve(mod) -> None:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library prints go to stderr
    sys.stdout = sys.stderr
    built: dict = {}
    for line in sys.stdin:
        req = json.loads(line)
        op = req.pop("op")
        try:
            if op == "quit":
                break
            if op == "versions":
                res = mod.versions()
            elif op == "build":
                key = req.pop("key")
                t0 = time.perf_counter()
                r = mod.build(**req)
                r.run()  # warm-up (and, for compiled targets, the compile)
                built[key] = r
                res = {
                    "compile_s": time.perf_counter() - t0,
                    "info": getattr(r, "info", {}),
                }
            elif op == "run":
                r = built[req["key"]]
                c0, t0 = cpu_time(), time.perf_counter()
                r.run()
                res = {"wall": time.perf_counter() - t0, "cpu": cpu_time() - c0}
            elif op == "stats":
                x, w = built[req["key"]].run()
                res = pc.w_stats(x, w).asdict()
            elif op == "drop":
                built.pop(req["key"], None)
                res = {}
            elif op == "grad":
                res = mod.grad(**req)
            else:
                res = {"error": f"unknown op {op!r}"}
        except Exception as e:  # report and carry on
            traceback.print_exc()
            res = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    serve(importlib.import_module(sys.argv[1]))
