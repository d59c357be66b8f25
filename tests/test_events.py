"""Events (jumps) and saves on the step grid."""

from __future__ import annotations

import diffrax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax.stimuli import AddWeights

N = 4


@pytest.mark.parametrize("solver", [None, sj.MultirateEuler(2)])
@pytest.mark.parametrize(
    "t_event, dt",
    # (1000, 0.2) put the save on the wrong side of the jump when step times
    # were accumulated (t += dt): 5000 additions of 0.2 overshoot 1000.
    [(1000.0, 0.2), (1000.0, 0.1), (100.0, 0.5), (37.2, 0.1), (3.0, 0.3)],
)
def test_save_at_event_time_sees_state_before_the_event(t_event, dt, solver):
    """An event at t_e fires at the end of the step ending at t_e; a save at
    exactly t_e sees the state before the jump, the next save the state
    after it, for any dt (step ends are the exact grid t0 + i·dt)."""
    model = sj.Model(sj.dynamics.RateNetwork(n=N), None)
    state0 = model.init(jr.key(0), W=jnp.zeros((N, N)))
    h = dt * (2 if solver is not None else 1)
    event = AddWeights(time=t_event, delta=jnp.ones((N, N)))
    sim = sj.simulate(
        model,
        state0,
        t0=0.0,
        t1=t_event + 10 * h,
        dt=dt,
        events=(event,),
        solver=solver,
        saveat=diffrax.SaveAt(
            ts=jnp.array([t_event - h, t_event, t_event + h]),
            fn=lambda t, y, args: y.W[0, 0],
        ),
    )
    np.testing.assert_array_equal(np.asarray(sim.ys), [0.0, 0.0, 1.0])
    assert float(sim.final.W[0, 0]) == 1.0


def test_event_off_the_multirate_grid_is_refused():
    """MultirateEuler(k) steps by k·dt: an event between its step ends would
    fire up to k·dt/2 early, so it is refused, naming the step."""
    model = sj.Model(sj.dynamics.RateNetwork(n=N), None)
    state0 = model.init(jr.key(0), W=jnp.zeros((N, N)))
    event = AddWeights(time=0.7, delta=jnp.ones((N, N)))
    kw = dict(t0=0.0, t1=2.0, dt=0.1, events=(event,))
    sj.simulate(model, state0, **kw)  # on the fine grid: fine
    with pytest.raises(ValueError, match=r"not on the solver's step grid.*0\.5"):
        sj.simulate(model, state0, solver=sj.MultirateEuler(5), **kw)
