r"""brainstate peer: the workload in BrainPy's newer state-based stack (own venv,
shared with BrainPy).

x, y, x̄ (B, N) and W (B, N, N) are `brainstate.ShortTermState`s, one
Euler–Maruyama step is `braintools.quad.sde_euler_step(df, dg, state, t)`
(y + f·dt + g·√dt·`brainstate.random.randn_like(y)` per leaf, dt from
`brainstate.environ`), the run is `brainstate.transform.for_loop` inside
`brainstate.transform.jit`. The diffusion is (0, 0, 0, η σ): the integrator
draws normals for every leaf, so 3N unused ones per step besides the N².
"""

from __future__ import annotations

import _peers_common as pc
import numpy as np


def versions() -> dict:
    import brainstate
    import braintools
    import jax

    return {
        "brainstate": brainstate.__version__,
        "braintools": braintools.__version__,
        "jax": jax.__version__,
    }


def _fns(n):
    import jax.numpy as jnp

    c = pc.ETA * pc.sigma(n)

    def df(s, t, b):
        x, y, xb, w = s
        phi = jnp.tanh(x)
        h = jnp.tanh(x - xb)
        dx = -x + jnp.einsum("bij,bj->bi", w, phi)
        dw = phi[:, :, None] * y[:, None, :] - (y + h)[:, :, None] * phi[:, None, :]
        dw = dw + b * jnp.eye(n, dtype=x.dtype)
        return dx, (phi - y) / pc.TAU_Y, (x - xb) / pc.TAU_X, pc.ETA * dw

    def dg(s, t, b):
        return 0.0, 0.0, 0.0, c

    return df, dg


class BrainStateRun:
    def __init__(self, n, batch, steps, seed, same_init):
        import brainstate
        import braintools
        import jax.numpy as jnp

        brainstate.environ.set(dt=pc.DT)
        init = pc.initial_state(n, batch, seed, same_init)
        states = [brainstate.ShortTermState(jnp.asarray(a)) for a in init]
        df, dg = _fns(n)

        def step(i):
            new = braintools.quad.sde_euler_step(
                df, dg, tuple(s.value for s in states), i * pc.DT, pc.B_DECOR
            )
            for s, v in zip(states, new, strict=True):
                s.value = v

        def loop():
            brainstate.random.seed(seed)
            for s, a in zip(states, init, strict=True):
                s.value = jnp.asarray(a)
            brainstate.transform.for_loop(step, np.arange(steps))
            return states[0].value, states[3].value

        self._loop = brainstate.transform.jit(loop)
        self.info = {}

    def run(self):
        import jax

        x, w = jax.block_until_ready(self._loop())
        return np.asarray(x), np.asarray(w)


def build(variant, n, batch, steps, seed, same_init=False):
    return BrainStateRun(n, batch, steps, seed, same_init)


def grad(**kw):
    raise NotImplementedError("not part of the gradient comparison")
