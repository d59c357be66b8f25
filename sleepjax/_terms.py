"""diffrax terms built from a system."""

from __future__ import annotations

import diffrax
import equinox as eqx

from ._system import noise_product


def drift_vector_field(t, y, system):
    """`ODETerm` vector field: the system (passed as diffrax `args`) gives the
    drift."""
    return system.drift(t, y)


class NoiseTerm(diffrax.AbstractTerm):
    r"""The system's diffusion, driven by a Brownian path.

    The control is the system's noise pytree of Wiener increments (noisy
    leaves only, see `sleepjax.AbstractSystem`); the product adds each
    increment, times its multiplier, to its own leaf. It touches no other part
    of the state, which is much cheaper than a `ControlTerm` with a diagonal
    operator over the whole state.

    **Arguments:**

    - `path`: a Brownian path whose shape is `system.noise_shape(y0)`.
    - `dt`: the simulation's fine step (for `form="code"` noise).
    """

    path: diffrax.AbstractBrownianPath
    dt: float = eqx.field(static=True)

    def vf(self, t, y, args):
        return args.diffusion(t, y, self.dt), y

    def contr(self, t0, t1, **kwargs):
        return self.path.evaluate(t0, t1)

    def prod(self, vf, control):
        scales, y = vf
        return noise_product(scales, control, y)
