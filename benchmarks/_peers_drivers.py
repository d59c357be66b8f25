"""The peers of `benchmarks/peers.py`: how each is installed, built and run.

In-process (sleepjax's environment): sleepjax (default and multirate), the
hand-written NumPy loop and diffrax with a `VirtualBrownianTree`
(`benchmarks/_baselines.py`). In their own virtual environments under
`benchmarks/.venvs/` (git-ignored), each driven through
`benchmarks/_peers_worker.py` over a pipe: Brian2 (its NumPy pin clashes with
ours), BrainPy and brainstate (one venv) and torchsde, kept out of the shared
environment (they resolve against our jax and numpy, but torch is ~1 GB). Every peer
exposes the same calls: `build(key, n, batch, steps, seed, same_init)`,
`run(key) -> (wall s, cpu s)`, `stats(key) -> WStats dict`, `drop(key)`.
"""

from __future__ import annotations

import glob
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
sys.path.insert(0, str(HERE))

import _peers_common as pc  # noqa: E402

# ------------------------------------------------------------- environments


def _torch_spec() -> str:
    """A CPU-only torch wheel where pip's find-links has one (the default
    PyPI wheel pulls ~3 GB of CUDA libraries), else plain `torch`."""
    for d in os.environ.get("PIP_FIND_LINKS", "").split():
        hits = sorted(glob.glob(os.path.join(d, "torch-*+cpu-*.whl")))
        if hits:
            return hits[-1]
    return "torch"


def venv_specs() -> dict[str, list[str]]:
    """pip requirements of each peer environment."""
    import jax

    ours = [f"numpy=={np.__version__}"]
    return {
        # Brian2 ≤ 2.9 (the last for Python 3.11) uses ndarray.ptp, removed in
        # NumPy 2.4: its environment needs numpy < 2.4 (ours is newer).
        "brian2": ["brian2", "cython", "numpy<2.4"],
        "brainpy": ["brainpy", "brainstate", f"jax=={jax.__version__}", *ours],
        "torch": [_torch_spec(), "torchsde", *ours],
    }


def ensure_venv(name: str, log, timeout: float = 1200) -> str | None:
    """The venv's python, created and installed if missing; None (and the
    reason logged) if that fails."""
    py = VENVS / name / "bin" / "python"
    stamp = VENVS / name / ".installed"
    if py.exists() and stamp.exists():
        return str(py)
    spec = venv_specs()[name]
    log(f"  creating benchmarks/.venvs/{name}: pip install {' '.join(spec)}")
    t0 = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(VENVS / name)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        r = subprocess.run(
            [str(py), "-m", "pip", "install", "-q", *spec],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (subprocess.SubprocessError, OSError) as e:
        log(f"  {name}: could not create its environment ({e})")
        return None
    if r.returncode != 0:
        log(f"  {name}: pip failed: {r.stderr.strip().splitlines()[-1:]}")
        return None
    stamp.write_text(json.dumps(spec))
    log(f"  {name}: installed in {time.perf_counter() - t0:.0f} s")
    return str(py)


# ------------------------------------------------------------------- peers


class LocalPeer:
    """A peer in this process; `factory(n, batch, steps, seed, same_init)`
    returns a `_baselines.Baseline`."""

    where = "in process"

    def __init__(self, name, factory, grad=None):
        self.name, self.factory, self.grad_fn = name, factory, grad
        self.built: dict = {}
        self.error = None

    def versions(self) -> dict:
        return {}

    def build(self, key, n, batch, steps, seed, same_init=False) -> dict:
        t0 = time.perf_counter()
        b = self.factory(n, batch, steps, seed, same_init)
        b.run()
        self.built[key] = b
        return {"compile_s": time.perf_counter() - t0}

    def run(self, key) -> tuple[float, float]:
        c0, t0 = time.process_time(), time.perf_counter()
        self.built[key].run()
        return time.perf_counter() - t0, time.process_time() - c0

    def stats(self, key) -> dict:
        x, w = self.built[key].run()
        return pc.w_stats(np.asarray(x), np.asarray(w)).asdict()

    def drop(self, key) -> None:
        self.built.pop(key, None)

    def grad(self, n, batch, seed) -> dict:
        return self.grad_fn(n, batch, seed)

    def close(self) -> None:
        self.built.clear()


class WorkerPeer:
    """A peer served by `_peers_worker.py MODULE` from a venv's python."""

    where = "own venv"

    def __init__(self, name, venv, module, variant="", log=print):
        self.name, self.venv, self.module, self.variant = name, venv, module, variant
        self.log, self.proc, self.error = log, None, None
        self.logfile = VENVS / f"{name}.log"

    def start(self) -> bool:
        py = ensure_venv(self.venv, self.log)
        if py is None:
            self.error = f"its environment ({self.venv}) could not be installed"
            return False
        VENVS.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [py, str(HERE / "_peers_worker.py"), self.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.logfile, "w"),  # noqa: SIM115 - lives with proc
            text=True,
            cwd=str(HERE),
            env={**os.environ, "JAX_COMPILATION_CACHE_DIR": str(VENVS / "jax_cache")},
        )
        v = self.request("versions", timeout=300)
        if "error" in v:
            self.error = f"import failed: {v['error']}"
            return False
        self._versions = v
        return True

    def versions(self) -> dict:
        return getattr(self, "_versions", {})

    def request(self, op, timeout=900, **kw) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            return {"error": f"worker not running (see {self.logfile})"}
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.close()
            return {"error": f"{op} timed out after {timeout:.0f} s"}
        line = self.proc.stdout.readline()
        if not line:
            return {"error": f"worker died (see {self.logfile})"}
        return json.loads(line)

    def _ok(self, res: dict) -> dict:
        if "error" in res:
            raise RuntimeError(res["error"])
        return res

    def build(self, key, n, batch, steps, seed, same_init=False) -> dict:
        return self._ok(
            self.request(
                "build",
                key=key,
                variant=self.variant,
                n=n,
                batch=batch,
                steps=steps,
                seed=seed,
                same_init=same_init,
            )
        )

    def run(self, key) -> tuple[float, float]:
        r = self._ok(self.request("run", key=key))
        return r["wall"], r["cpu"]

    def stats(self, key) -> dict:
        return self._ok(self.request("stats", key=key))

    def drop(self, key) -> None:
        self.request("drop", key=key)

    def grad(self, n, batch, seed) -> dict:
        return self._ok(
            self.request("grad", variant=self.variant, n=n, batch=batch, seed=seed)
        )

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.proc = None
