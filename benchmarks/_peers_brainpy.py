r"""BrainPy peer: the workload as a BrainPy user writes it (own virtual env).

A `brainpy.DynamicalSystem` holds x, y, x̄ (B, N) and W (B, N, N) as
`brainpy.math.Variable`s and steps them with BrainPy's own SDE integrator,
`brainpy.sdeint(f, g, method="euler")` (Itô Euler–Maruyama; the diffusion
g = (0, 0, 0, η σ) multiplies one standard normal per entry, drawn from
BrainPy's global `brainpy.math.random` state). The run is
`brainpy.math.for_loop(net.step_run, steps)` (jitted), the loop BrainPy
documents for speed. Gradients: `brainpy.math.grad` of the same loop, the
noise held fixed by reseeding `brainpy.math.random` before each call.
"""

from __future__ import annotations

import time

import _peers_common as pc
import numpy as np


def versions() -> dict:
    import brainpy
    import jax

    out = {"brainpy": brainpy.__version__, "jax": jax.__version__}
    try:
        import brainstate

        out["brainstate"] = brainstate.__version__
    except ImportError:
        pass
    return out


def _intg(n):
    import brainpy as bp
    import brainpy.math as bm

    c = pc.ETA * pc.sigma(n)

    def f(x, y, xb, w, t, b):
        phi = bm.tanh(x)
        h = bm.tanh(x - xb)
        dx = -x + bm.einsum("bij,bj->bi", w, phi)
        dy = (phi - y) / pc.TAU_Y
        dxb = (x - xb) / pc.TAU_X
        dw = phi[:, :, None] * y[:, None, :] - (y + h)[:, :, None] * phi[:, None, :]
        dw = dw + b * bm.eye(n, dtype=x.dtype)
        return dx, dy, dxb, pc.ETA * dw

    def g(x, y, xb, w, t, b):
        return 0.0, 0.0, 0.0, c

    return bp.sdeint(f=f, g=g, method="euler", dt=pc.DT)


def _net(n, init, b):
    import brainpy as bp
    import brainpy.math as bm

    class Net(bp.DynamicalSystem):
        def __init__(self):
            super().__init__()
            self.x, self.y, self.xb, self.w = (bm.Variable(bm.asarray(a)) for a in init)
            self.b = b  # a float, or a TrainVar to differentiate
            self.integral = _intg(n)

        def reset_state(self, *args):
            for v, a in zip((self.x, self.y, self.xb, self.w), init, strict=True):
                v.value = bm.asarray(a)

        def update(self):
            t, dt = bp.share["t"], bp.share["dt"]
            out = self.integral(
                self.x.value,
                self.y.value,
                self.xb.value,
                self.w.value,
                t,
                getattr(self.b, "value", self.b),
                dt=dt,
            )
            self.x.value, self.y.value, self.xb.value, self.w.value = out

    return Net()


class BrainPyRun:
    def __init__(self, n, batch, steps, seed, same_init):
        import brainpy.math as bm

        bm.set_dt(pc.DT)
        self.steps, self.seed = steps, seed
        self.net = _net(n, pc.initial_state(n, batch, seed, same_init), pc.B_DECOR)
        self.info = {}
        net = self.net

        def loop():
            bm.random.seed(seed)
            net.reset_state()
            bm.for_loop(net.step_run, np.arange(steps))
            return net.w.value

        self._loop = bm.jit(loop)  # traced and compiled once

    def run(self):
        import jax

        jax.block_until_ready(self._loop())
        return np.asarray(self.net.x.value), np.asarray(self.net.w.value)


def build(variant, n, batch, steps, seed, same_init=False):
    return BrainPyRun(n, batch, steps, seed, same_init)


def grad(variant, n, batch, seed, repeats=3):
    """d loss / d b through `GRAD_STEPS` noisy steps with `brainpy.math.grad`
    of the `for_loop` run (median of `repeats` after a warm-up), and central
    finite differences of the same run with the same seed."""
    import brainpy.math as bm
    import jax

    bm.set_dt(pc.DT)
    init = pc.initial_state(n, batch, seed, False, pc.GRAD_W_SCALE)
    b = bm.TrainVar(bm.asarray(pc.B_DECOR, dtype=bm.float32))
    net = _net(n, init, b)

    def loss():
        bm.random.seed(seed)
        net.reset_state()
        bm.for_loop(net.step_run, np.arange(pc.GRAD_STEPS))
        return bm.mean(net.w.value**2) + bm.mean(net.x.value**2)

    vg = bm.jit(bm.grad(loss, grad_vars={"b": b}, return_value=True))
    jax.block_until_ready(vg())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        grads, val = jax.block_until_ready(vg())
        times.append(time.perf_counter() - t0)
    f = bm.jit(loss)
    vals = {}
    for s in (1, -1, 0):
        b.value = bm.asarray(pc.B_DECOR + s * pc.GRAD_FD_H, dtype=bm.float32)
        t0 = time.perf_counter()
        vals[s] = float(jax.block_until_ready(f()))
        fwd = time.perf_counter() - t0
    return {
        "loss": float(val),
        "grad": float(grads["b"]),
        "fd": (vals[1] - vals[-1]) / (2 * pc.GRAD_FD_H),
        "seconds": float(np.median(times)),
        "forward_seconds": fwd,
        "method": "brainpy.math.grad of a for_loop run",
    }
