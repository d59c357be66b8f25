r"""The two assembled discrete-time models (dt = 1 ms): a single E cell with
plastic inputs in a Poisson background, and the slow-wave network with
plastic inputs onto its E cell 0.

Both follow, each step $t$: the driver's input spikes $x$ (and forced
postsynaptic spike) → EPSP traces $h \leftarrow h e^{-1/\tau_e} + x$ →
the network step with the plastic potential $\sum_j w_j h_j$ added to the
target cell → the infomax update with the baseline ḡ. The single cell's ḡ
is fixed or a running mean of $g(u_r + v)$, the intensity its background
alone gives (the paper's ḡ: the mean of $g$ in that background); the
network's ḡ is the instantaneous mean of $g$ over population 1's E cells.
The network also classifies each population as up or down (mean $u$ of its
E cells, hysteresis) and population 1 as in a global or local state, and
tallies rates and time per state from `count_from`.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ..._errors import as_param
from ..._system import AbstractMap, check_like
from ...analysis import StateTally, global_local, hysteresis
from ...dynamics import SpikeResponseNetwork, SRMState
from ...plasticity import Infomax, InfomaxState, RunningMean
from ._parts import DT

Scalar = Float[Array, ""]
_DRIVER_STREAM = 1000  # fold_in(step key, 1000): the driver's draws


def _leaf(name):
    return eqx.field(converter=lambda v: as_param(v, name))


class SingleState(eqx.Module):
    """`net` (the cell's `SRMState`s), `W` `(1, n_stim)` plastic weights (mV),
    `rule` (traces), `g_bar` (1/ms), `g_sum` (Σ g of the background-only
    potential over counted steps, 1/ms), `counted` (steps), `spikes`
    (counted postsynaptic spikes), `driver` (pairings given)."""

    net: dict
    W: Float[Array, "1 n_stim"]
    rule: InfomaxState
    g_bar: Scalar
    g_sum: Scalar
    counted: Scalar
    spikes: Scalar
    driver: Scalar


class SingleNeuronMap(AbstractMap):
    """A single E cell ("post") with Poisson background inputs (`net`) and
    `n_stim` plastic inputs (module docs). `rule` None: no plastic inputs
    (ḡ estimation); `running` None: ḡ fixed at `g_bar` (1/ms)."""

    net: SpikeResponseNetwork
    rule: Infomax | None
    pairing: eqx.Module | None
    g_bar: Scalar
    running: RunningMean | None
    count_from: Scalar = _leaf("count_from")
    n_stim: int = eqx.field(static=True, default=0)

    def init(self, w0=0.0, dtype=None) -> SingleState:
        dtype = dtype or jnp.result_type(float)
        z = jnp.zeros((), dtype)
        pop = self.net.populations["post"]
        g0 = pop.gain(pop.u_rest) if self.running is not None else self.g_bar
        rule = InfomaxState(
            h=jnp.zeros((self.n_stim,), dtype), C=jnp.zeros((1, self.n_stim), dtype)
        )
        drv = self.pairing.init(dtype) if self.pairing is not None else z
        return SingleState(
            net=self.net.init(dtype=dtype),
            W=jnp.zeros((1, self.n_stim), dtype) + w0,
            rule=rule,
            g_bar=jnp.asarray(g0, dtype) + z,
            g_sum=z,
            counted=z,
            spikes=z,
            driver=drv,
        )

    def step(self, t, s: SingleState, key: PRNGKeyArray) -> SingleState:
        dtype = s.g_sum.dtype
        if self.pairing is not None:
            x, post, _, drv = self.pairing(t, 0, s.driver, None)
        else:
            x, post, drv = jnp.zeros((self.n_stim,), dtype), False, s.driver
        rs = s.rule
        extra = {}
        if self.rule is not None:
            rs = self.rule.trace(rs, x, DT)
            extra = {"post": s.W @ rs.h}
        forced = {"post": jnp.reshape(jnp.asarray(post), (1,))}
        net, info, _ = self.net.advance(t, s.net, key, forced=forced, extra=extra)
        pop = self.net.populations["post"]
        g_bg = pop.gain(pop.u_rest + net["post"].v[0])
        g_bar = s.g_bar if self.running is None else self.running(s.g_bar, g_bg, DT)
        W = s.W
        y = net["post"].y
        if self.rule is not None:
            i = info["post"]
            W, rs = self.rule.update(t, W, rs, x, i.u, y, i.R, g_bar, DT)
        on = (t >= self.count_from).astype(dtype)
        return SingleState(
            net=net,
            W=W,
            rule=rs,
            g_bar=g_bar,
            g_sum=s.g_sum + on * g_bg,
            counted=s.counted + on,
            spikes=s.spikes + on * y[0],
            driver=drv,
        )

    def check_state(self, y) -> None:
        check_like("the state", self.init(), y)


class NetworkState(eqx.Module):
    """`net` (`{"E", "I"}` `SRMState`s), `W` `(1, n_inputs)` plastic weights
    onto E cell 0, `rule` traces, `up` `(P,)` up/down per population, `code`
    population 1's state (−1 before the first step), `rate` `(P,)` E rates
    low-passed over 20 ms (Hz), `pop_tally` / `cell_tally` (population 1's
    mean E spikes / cell 0's spikes per state), `readout` and `readout_time`
    `(3,)` (cell 0's spikes and ms counted per task phase), `driver`."""

    net: dict
    W: Float[Array, "1 n_inputs"]
    rule: InfomaxState
    up: Bool[Array, " P"]
    code: Array
    rate: Float[Array, " P"]
    pop_tally: StateTally
    cell_tally: StateTally
    readout: Float[Array, " 3"]
    readout_time: Float[Array, " 3"]
    driver: eqx.Module | Scalar


class SlowWaveMap(AbstractMap):
    """The slow-wave network with plastic inputs onto E cell 0 (module docs).

    **Fields:** `net` (populations "E" and "I"), `rule` (`Infomax` or None),
    `driver` (a pairing or reactivation driver, or None), `n_pop`,
    `n_inputs` (static), `up_threshold`, `down_threshold` (mV),
    `count_from` (ms), and for the task's wake tests `readout_from` (ms into
    each wake test), `wake_v` (E potential above rest at a phase start, mV)
    and `wake_a` (the frozen adaptation current, mV/ms)."""

    net: SpikeResponseNetwork
    rule: Infomax | None
    driver: eqx.Module | None
    up_threshold: Scalar
    down_threshold: Scalar
    count_from: Scalar
    readout_from: Scalar = _leaf("readout_from")
    wake_v: Scalar = _leaf("wake_v")
    wake_a: Scalar = _leaf("wake_a")
    n_pop: int = eqx.field(static=True, default=4)
    n_inputs: int = eqx.field(static=True, default=100)

    @property
    def task(self) -> bool:
        return hasattr(self.driver, "phase")

    def init_net(self, dtype) -> dict:
        net = self.net.init(dtype=dtype)
        if self.task:
            e = net["E"]
            net["E"] = SRMState(
                v=e.v + self.wake_v, a=e.a + self.wake_a, age=e.age, y=e.y
            )
        return net

    def init(self, w0=0.0, dtype=None) -> NetworkState:
        dtype = dtype or jnp.result_type(float)
        z = jnp.zeros((), dtype)
        P, n = self.n_pop, self.n_inputs
        drv = self.driver.init(dtype) if self.driver is not None else z
        return NetworkState(
            net=self.init_net(dtype),
            W=jnp.zeros((1, n), dtype) + w0,
            rule=InfomaxState(h=jnp.zeros((n,), dtype), C=jnp.zeros((1, n), dtype)),
            up=jnp.zeros((P,), bool),
            code=jnp.asarray(-1, jnp.int32),
            rate=jnp.zeros((P,), dtype),
            pop_tally=StateTally.zeros(4, dtype),
            cell_tally=StateTally.zeros(4, dtype),
            readout=jnp.zeros((3,), dtype),
            readout_time=jnp.zeros((3,), dtype),
            driver=drv,
        )

    def step(self, t, s: NetworkState, key: PRNGKeyArray) -> NetworkState:
        dtype = s.rate.dtype
        net, up, code = s.net, s.up, s.code
        if self.task:  # a fresh network at each phase start
            reset = self.driver.reset(t)
            fresh = self.init_net(dtype)
            net = {k: _where(reset, fresh[k], net[k]) for k in net}
            up = jnp.where(reset, False, up)
            code = jnp.where(reset, -1, code)
        n = self.n_inputs
        if self.driver is not None:
            k_drv = jr.fold_in(key, _DRIVER_STREAM)
            x, post, gate, drv = self.driver(t, code, s.driver, k_drv)
        else:
            x, post, gate, drv = jnp.zeros((n,), dtype), False, 1.0, s.driver
        rs, W = s.rule, s.W
        extra = {}
        if self.rule is not None:
            rs = self.rule.trace(rs, x, DT)
            nE = self.net.populations["E"].n
            extra = {"E": jnp.zeros((nE,), dtype).at[0].set((W @ rs.h)[0])}
        forced = {"E": jnp.zeros((self.net.populations["E"].n,), bool).at[0].set(post)}
        net, info, _ = self.net.advance(t, net, key, forced=forced, extra=extra)
        if self.task:
            wake = self.driver.phase(t) != 1
            e = net["E"]
            a = jnp.where(wake, self.wake_a, e.a)
            net["E"] = SRMState(v=e.v, a=a, age=e.age, y=e.y)
        P = self.n_pop
        iE = info["E"]
        u_pop = iE.u.reshape(P, -1).mean(axis=1)
        new_up = hysteresis(up, u_pop, self.up_threshold, self.down_threshold)
        new_code = global_local(new_up, 0)
        yE = net["E"].y
        if self.rule is not None:
            g_bar = iE.g.reshape(P, -1)[0].mean()
            W, rs = self.rule.update(
                t, W, rs, x, iE.u[:1], yE[:1], iE.R[:1], g_bar, DT, gate
            )
        spikes_pop = yE.reshape(P, -1).mean(axis=1)
        decay = jnp.exp(-DT / 20.0)
        rate = s.rate * decay + (1.0 - decay) * 1000.0 * spikes_pop / DT
        count = t >= self.count_from
        readout, readout_time = s.readout, s.readout_time
        if self.task:
            phase = self.driver.phase(t)
            count = count & (phase == 1)
            start = jnp.where(phase == 2, self.driver.t_wake + self.driver.t_sleep, 0.0)
            wake_on = (phase != 1) & (t - start >= self.readout_from)
            hit = ((jnp.arange(3) == phase) & wake_on).astype(dtype)
            readout = readout + hit * yE[0]
            readout_time = readout_time + hit * DT
        onset = new_up[0] & ~up[0]
        return NetworkState(
            net=net,
            W=W,
            rule=rs,
            up=new_up,
            code=new_code,
            rate=rate,
            pop_tally=s.pop_tally.add(new_code, spikes_pop[0], DT, onset, count),
            cell_tally=s.cell_tally.add(new_code, yE[0], DT, onset, count),
            readout=readout,
            readout_time=readout_time,
            driver=drv,
        )

    def check_state(self, y) -> None:
        check_like("the state", self.init(), y)


def _where(c, a, b):
    return SRMState(
        *(
            jnp.where(c, x, y)
            for x, y in zip((a.v, a.a, a.age, a.y), (b.v, b.a, b.age, b.y), strict=True)
        )
    )
