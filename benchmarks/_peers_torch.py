r"""torchsde peer: the workload as a torchsde user writes it (own virtual env).

The state of each network is one flat float32 vector z = (x, y, x̄, vec W) of
length 3N + N², batched as (B, 3N + N²); `f` is the drift of
`_peers_common`, `g` the diagonal diffusion (0, 0, 0, η σ·1) (torchsde's
`noise_type="diagonal"`: one Brownian motion per state entry, so 3N unused
normals per step besides the N² needed), `sdeint(..., method="euler")` with
its default `BrownianInterval` (seeded through `entropy`), time counted in
steps (s = t/Δt, drift × Δt, diffusion × √Δt, dt = 1 exactly).
Gradients: backpropagation through the solver (`sdeint`, not the adjoint).
"""

from __future__ import annotations

import os
import time

import _peers_common as pc
import numpy as np

# One intra-op thread by default: on this shared 2-core machine under load
# (load average ~9), torch with 2 threads took 9.2 s for 20 steps at B = 4
# (its OpenMP pool spin-waits for a core), with 1 thread 0.11 s.
THREADS = int(os.environ.get("PEERS_TORCH_THREADS", "1"))


def versions() -> dict:
    import torch
    import torchsde

    return {
        "torch": torch.__version__,
        "torchsde": torchsde.__version__,
        "torch_threads": THREADS,
    }


def _torch():
    import torch

    torch.set_num_threads(THREADS)
    return torch


class WorkloadSDE:
    """Drift and diffusion of the workload on flat states (B, 3N + N²)."""

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, n, b):
        self.n, self.b = n, b
        self.c = pc.ETA * pc.sigma(n)
        self.nfe = 0

    def f(self, t, z):
        torch = _torch()
        n = self.n
        self.nfe += 1
        x, y, xb = z[:, :n], z[:, n : 2 * n], z[:, 2 * n : 3 * n]
        w = z[:, 3 * n :].view(-1, n, n)
        phi = torch.tanh(x)
        h = torch.tanh(x - xb)
        dx = -x + torch.bmm(w, phi.unsqueeze(-1)).squeeze(-1)
        dy = (phi - y) / pc.TAU_Y
        dxb = (x - xb) / pc.TAU_X
        dw = phi.unsqueeze(-1) * y.unsqueeze(-2) - (y + h).unsqueeze(
            -1
        ) * phi.unsqueeze(-2)
        dw = dw + self.b * torch.eye(n, dtype=z.dtype)
        out = torch.cat([dx, dy, dxb, pc.ETA * dw.reshape(z.shape[0], -1)], 1)
        return pc.DT * out  # time in steps (see _solve)

    def g(self, t, z):
        torch = _torch()
        out = torch.zeros_like(z)
        out[:, 3 * self.n :] = self.c * pc.DT**0.5
        return out


def _z0(n, batch, seed, same_init, w_scale=pc.W_SCALE):
    torch = _torch()
    x0, y0, xb0, w0 = pc.initial_state(n, batch, seed, same_init, w_scale)
    return torch.from_numpy(np.concatenate([x0, y0, xb0, w0.reshape(batch, -1)], 1))


def _solve(sde, z0, steps, seed):
    import torchsde

    torch = _torch()
    # Time is counted in steps, s = t/Δt (drift × Δt, diffusion × √Δt), so
    # that dt = 1 is exact: with dt = 0.1 torchsde's `while t < t1` loop adds
    # a tiny extra step after accumulating 0.1 in floating point.
    bm = torchsde.BrownianInterval(
        t0=0.0, t1=float(steps), size=z0.shape, dtype=z0.dtype, entropy=seed, dt=1.0
    )
    ts = torch.tensor([0.0, float(steps)], dtype=z0.dtype)
    return torchsde.sdeint(sde, z0, ts, bm=bm, method="euler", dt=1.0)[-1]


class TorchRun:
    def __init__(self, n, batch, steps, seed, same_init):
        self.n, self.batch, self.steps, self.seed = n, batch, steps, seed
        self.z0 = _z0(n, batch, seed, same_init)
        self.sde = WorkloadSDE(n, pc.B_DECOR)
        self.info = {}

    def run(self):
        torch = _torch()
        self.sde.nfe = 0
        with torch.no_grad():
            z = _solve(self.sde, self.z0, self.steps, self.seed)
        self.info["drift_evals"] = self.sde.nfe
        n = self.n
        return z[:, :n].numpy(), z[:, 3 * n :].reshape(-1, n, n).numpy()


def build(variant, n, batch, steps, seed, same_init=False):
    return TorchRun(n, batch, steps, seed, same_init)


def grad(variant, n, batch, seed, repeats=3):
    """d loss / d b through `GRAD_STEPS` noisy steps: backprop time (median of
    `repeats` after a warm-up) and central finite differences, same noise."""
    torch = _torch()
    z0 = _z0(n, batch, seed, False, pc.GRAD_W_SCALE)

    def loss(b):
        sde = WorkloadSDE(n, b)
        z = _solve(sde, z0, pc.GRAD_STEPS, seed)
        x, w = z[:, :n], z[:, 3 * n :]
        return (w**2).mean() + (x**2).mean()

    def value_and_grad():
        b = torch.tensor(pc.B_DECOR, requires_grad=True)
        val = loss(b)
        val.backward()
        return float(val.detach()), float(b.grad)

    value_and_grad()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        val, g = value_and_grad()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        h = pc.GRAD_FD_H
        fd = (float(loss(pc.B_DECOR + h)) - float(loss(pc.B_DECOR - h))) / (2 * h)
        t0 = time.perf_counter()
        loss(pc.B_DECOR)
        fwd = time.perf_counter() - t0
    return {
        "loss": val,
        "grad": g,
        "fd": fd,
        "seconds": float(np.median(times)),
        "forward_seconds": fwd,
        "method": "backprop through sdeint (euler)",
    }
