r"""Brian2 peer: the workload as a Brian2 user writes it (own virtual env).

B networks of N rate neurons are one `NeuronGroup` of B·N neurons; the
weights are a `Synapses` variable `w` on the B·N² synapses i → j inside each
network (self-connections included), with the weight noise as `xi`:

.. code-block:: text

    neurons:  dx/dt = (-x + I)/tu          (I = Σ_pre w·φ_pre, summed)
              dy/dt = (φ - y)/(τ_y·tu)
              dx̄/dt = (x - x̄)/(τ_x·tu)
              φ = tanh(x), h = tanh(x - x̄)   (constant over dt)
    synapses: dw/dt = η(φ_post·y_pre - y_post·φ_pre + b·δ - h_post·φ_pre)/tu
                      + η σ xi·tu^(-1/2)      (clock-driven, method 'euler')

with the model's time unit tu = 1 ms (so dt = 0.1 ms is Δt = 0.1) and δ = 1
on self-synapses. Euler–Maruyama as in the other peers evaluates every
right-hand side at the old state: the summed input is computed first
(`before_groups`), then the synapses' update (old x, y, x̄), then the
neurons'. Float32 (`prefs.core.default_float_dtype`).

Variants: `numpy` and `cython` (runtime mode: `restore()` then `run()` per
timed call) and `cpp_standalone` (built once per network size, without
OpenMP, and `cpp_standalone_omp` with one OpenMP thread per core; each timed
call runs the compiled binary, as `device.run()` does). φ and h are neuron
variables `(constant over dt)`, computed once per step, not per synapse.
"""

from __future__ import annotations

import os
from pathlib import Path

import _peers_common as pc
import numpy as np

TU_MS = 1.0  # the model's time unit in ms
_STANDALONE: list = []  # standalone builds made in this process
BUILDS = Path(__file__).resolve().parent / ".venvs" / "brian2_builds"


def versions() -> dict:
    import brian2
    import Cython

    return {"brian2": brian2.__version__, "cython": Cython.__version__}


def _setup(variant: str):
    import brian2 as b2

    b2.prefs.core.default_float_dtype = np.float32
    if variant.startswith("cpp_standalone"):
        if _STANDALONE:  # one build per network size, in one process
            b2.device.reinit()
            b2.device.activate(build_on_run=False)
        else:
            b2.set_device("cpp_standalone", build_on_run=False)
        _STANDALONE.append(True)
        omp = variant == "cpp_standalone_omp"
        b2.prefs.devices.cpp_standalone.openmp_threads = (
            (os.cpu_count() or 1) if omp else 0
        )
    else:
        b2.set_device("runtime")
        b2.prefs.codegen.target = variant
    return b2


EQS_NEURON = """
dx/dt = (-x + I) / tu : 1
dy/dt = (phi - y) / (tau_y * tu) : 1
dxbar/dt = (x - xbar) / (tau_x * tu) : 1
phi = tanh(x) : 1 (constant over dt)
h = tanh(x - xbar) : 1 (constant over dt)
I : 1
"""

EQS_SYN = """
dw/dt = eta * (phi_post * y_pre - y_post * phi_pre + bdec * delta
               - h_post * phi_pre) / tu
        + eta * sig * xi * tu**-0.5 : 1 (clock-driven)
delta : 1 (constant)
I_post = w * phi_pre : 1 (summed)
"""


class Brian2Run:
    def __init__(self, variant, n, batch, steps, seed, same_init):
        b2 = _setup(variant)
        self.b2, self.variant, self.n, self.batch = b2, variant, n, batch
        self.steps = steps
        x0, y0, xb0, w0 = pc.initial_state(n, batch, seed, same_init)
        b2.start_scope()
        b2.defaultclock.dt = pc.DT * TU_MS * b2.ms
        ns = {
            "tu": TU_MS * b2.ms,
            "tau_y": pc.TAU_Y,
            "tau_x": pc.TAU_X,
            "eta": pc.ETA,
            "bdec": pc.B_DECOR,
            "sig": pc.sigma(n),
        }
        g = b2.NeuronGroup(batch * n, EQS_NEURON, method="euler", namespace=ns)
        s = b2.Synapses(g, g, EQS_SYN, method="euler", namespace=ns)
        net_of = np.repeat(np.arange(batch), n * n)
        post_l = np.tile(np.repeat(np.arange(n), n), batch)
        pre_l = np.tile(np.tile(np.arange(n), n), batch)
        s.connect(i=net_of * n + pre_l, j=net_of * n + post_l)
        s.delta = (pre_l == post_l).astype(np.float32)
        s.w = w0[net_of, post_l, pre_l]
        g.x = x0.ravel()
        g.y = y0.ravel()
        g.xbar = xb0.ravel()
        # Euler–Maruyama: every right-hand side at the old state.
        s.summed_updaters["I_post"].when = "before_groups"
        s.state_updater.order = -1
        g.state_updater.order = 0
        self.g, self.s = g, s
        self.idx = (net_of, post_l, pre_l)
        self.net = b2.Network(g, s)
        self.info = {"target": variant, "float": str(b2.prefs.core.default_float_dtype)}
        if variant.startswith("cpp_standalone"):
            # One directory per size: Brian2 rewrites only changed files, so
            # a second benchmark run recompiles nothing.
            self.dir = str(
                BUILDS / f"{variant}_n{n}_b{batch}_s{steps}_{seed}_{same_init:d}"
            )
            self.net.run(steps * pc.DT * TU_MS * b2.ms)
            b2.device.build(directory=self.dir, compile=True, run=False)
            self.info["threads"] = b2.prefs.devices.cpp_standalone.openmp_threads
        else:
            b2.seed(seed)
            self.net.store()

    def run(self):
        b2 = self.b2
        if self.variant.startswith("cpp_standalone"):
            b2.device.run(directory=self.dir)
        else:
            self.net.restore()
            self.net.run(self.steps * pc.DT * TU_MS * b2.ms)
        w = np.empty((self.batch, self.n, self.n), np.float32)
        w[self.idx] = np.asarray(self.s.w[:])
        x = np.asarray(self.g.x[:]).reshape(self.batch, self.n)
        return x, w


def build(variant, n, batch, steps, seed, same_init=False):
    return Brian2Run(variant, n, batch, steps, seed, same_init)


def grad(**kw):
    raise NotImplementedError("Brian2 does not differentiate through a run")
