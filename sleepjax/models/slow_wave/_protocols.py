"""The protocols: each builds an `Experiment` from the model's parts.

Times are in ms, rates in Hz (converted to 1/ms inside). Every random draw of
a run comes from its key: connectivity from the build key, spikes and
reactivation events from the run's step keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ..._errors import (
    ConfigError,
    Integer,
    Interval,
    NonNegative,
    OnGrid,
    Positive,
    is_concrete,
)
from ..._experiment import Experiment, save_grid
from ...plasticity import RunningMean
from ._drivers import PeriodicPairing, Reactivation, TriggeredPairing
from ._maps import SingleNeuronMap, SlowWaveMap
from ._observables import (
    NetworkObservables,
    SingleObservables,
    TaskObservables,
    WaveObservables,
)
from ._options import SlowWaveOptions, SlowWaveParams
from ._parts import DT, infomax, rate_lattice, single_neuron, slow_wave_network

Time = Annotated[float, OnGrid()]
Hz = Annotated[float, NonNegative()]
Lag = Annotated[float, Interval(-400.0, 400.0)]
Weight = Annotated[float, Positive()]
TARGETS = {"global_down": 0, "local_down": 1, "global_up": 2, "local_up": 3}
CONDITIONS = {"all_up": 0, "global_up": 1, "local_up": 2}


def _check_times(**times) -> None:
    """`value < limit` for concrete values (numeric settings may be traced in
    a sweep, where the config layer has checked each value)."""
    for name, (value, limit, what) in times.items():
        if is_concrete(value) and is_concrete(limit) and not value < limit:
            raise ConfigError(f"[protocol] {name} ({value:g}) must be < {what}.")


def _single(opts, p, background_rate, count_from, rule=None, pairing=None):
    fixed = opts.baseline == "fixed"
    running = None if (fixed or rule is None) else RunningMean(p.tau_gbar)
    g_bar = p.g_bar / 1000.0 if (fixed and rule is not None) else jnp.asarray(1.0)
    return SingleNeuronMap(
        single_neuron(opts, p, background_rate),
        rule,
        pairing,
        g_bar,
        running,
        count_from,
        n_stim=opts.n_stim if rule is not None else 0,
    )


# ------------------------------------------------------------- single cell
def baseline(
    opts: SlowWaveOptions,
    p: SlowWaveParams,
    key: PRNGKeyArray,
    *,
    background_rate: Hz = 0.1,
    t_end: Time = 20000.0,
    count_from: Time = 1000.0,
) -> Experiment:
    """Baseline ḡ: the mean intensity g(u) of one E cell driven by
    `n_background` Poisson inputs (weight `w_background`) at
    `background_rate` Hz, averaged over [count_from, t_end] (SPEC Y1: ≈ 0.5 Hz
    at 0.1 Hz, "down"; ≈ 6 Hz at 2 Hz, "up"). Sweep `background_rate` × seeds
    (vmapped)."""
    _check_times(count_from=(count_from, t_end, "t_end"))
    model = _single(opts, p, background_rate, count_from)
    return Experiment(
        model,
        model.init(),
        t0=0.0,
        t1=t_end,
        dt=DT,
        save_ts=[t_end],
        observe=SingleObservables(jnp.asarray(1.0), plastic=False),
    )


def stdp(
    opts: SlowWaveOptions,
    p: SlowWaveParams,
    key: PRNGKeyArray,
    *,
    delta_t: Lag = 10.0,
    pre_only: bool = False,
    background_rate: Hz = 0.1,
    w0: Weight = 0.5,
    period: Time = 5000.0,
    phase: Time = 100.0,
    t_on: Time = 10000.0,
    t_end: Time = 20000.0,
) -> Experiment:
    """Single-cell STDP in a down (0.1 Hz) or up (2 Hz) background: from
    `t_on`, every `period` ms at phase `phase`, a volley on the `n_stim`
    plastic inputs (weight `w0`) and a forced postsynaptic spike `delta_t` ms
    later (earlier if negative), or none (`pre_only`); `dw` is the % weight
    change at `t_end`. Sweep `delta_t` and `background_rate` with seeds
    (vmapped)."""
    _check_times(
        phase=(phase + abs(delta_t), period, "period - |delta_t|"),
        t_on=(t_on, t_end, "t_end"),
    )
    if is_concrete(delta_t) and phase + delta_t < 0:
        raise ConfigError("[protocol] phase + delta_t must be >= 0.")
    pairing = PeriodicPairing(
        period, phase, delta_t, t_on, opts.n_stim, opts.n_stim, pre_only
    )
    model = _single(opts, p, background_rate, 1000.0, infomax(p, t_on), pairing)
    return Experiment(
        model,
        model.init(w0),
        t0=0.0,
        t1=t_end,
        dt=DT,
        save_ts=[t_on, t_end],
        observe=SingleObservables(jnp.asarray(w0)),
    )


# ----------------------------------------------------------------- network
def _network_map(opts, p, key, rule=None, driver=None, count_from=10000.0, **kw):
    return SlowWaveMap(
        slow_wave_network(opts, p, key),
        rule,
        driver,
        p.up_threshold,
        p.down_threshold,
        jnp.asarray(count_from),
        readout_from=kw.get("readout_from", 0.0),
        wake_v=kw.get("wake_v", 0.0),
        wake_a=kw.get("wake_a", 0.0),
        n_pop=opts.n_pop,
        n_inputs=opts.n_inputs,
    )


def up_down(
    opts: SlowWaveOptions,
    p: SlowWaveParams,
    key: PRNGKeyArray,
    *,
    t_end: Time = 100000.0,
    count_from: Time = 10000.0,
    save_every: Time = 10.0,
) -> Experiment:
    """The slow-wave network (4 × (200 E + 50 I)) without plastic inputs:
    population potentials, up/down states, and population 1's E rate, time
    fraction per global/local up/down state and up-onset rate from
    `count_from` (SPEC Y3: global down < local down, global up < local up)."""
    _check_times(count_from=(count_from, t_end, "t_end"))
    model = _network_map(opts, p, key, count_from=count_from)
    return Experiment(
        model,
        model.init(),
        t0=0.0,
        t1=t_end,
        dt=DT,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=NetworkObservables(jnp.asarray(1.0)),
    )


def network_stdp(
    opts: SlowWaveOptions,
    p: SlowWaveParams,
    key: PRNGKeyArray,
    *,
    delta_t: Lag = 10.0,
    pre_only: bool = False,
    target: Literal["global_down", "local_down", "global_up", "local_up"] = "global_up",
    w0: Weight = 0.5,
    n_pairings: Annotated[int, Integer(1)] = 10,
    min_interval: Time = 500.0,
    min_duration: Time = 200.0,
    t_on: Time = 10000.0,
    t_end: Time = 50000.0,
) -> Experiment:
    """STDP in the network, pairings triggered by its own state: from `t_on`,
    whenever population 1 has been in the `target` state for more than
    `min_duration` ms and `min_interval` ms have passed since the last
    pairing, pair the `n_stim` inputs of E cell 0 (weight `w0`) with its
    spike at `delta_t`, `n_pairings` times; `dw` at `t_end` (% change) and
    `pairings` (given; fewer than `n_pairings` when the state was too rare)."""
    _check_times(t_on=(t_on, t_end - 80.0, "t_end - 80"))
    driver = TriggeredPairing(
        delta_t,
        jnp.asarray(TARGETS[target], jnp.int32),
        t_on,
        t_end,
        min_interval,
        min_duration,
        float(n_pairings),
        opts.n_inputs,
        opts.n_stim,
        pre_only,
    )
    model = _network_map(opts, p, key, infomax(p, t_on), driver, t_on)
    return Experiment(
        model,
        model.init(w0),
        t0=0.0,
        t1=t_end,
        dt=DT,
        save_ts=[t_on, t_end],
        observe=NetworkObservables(jnp.asarray(w0), opts.n_stim, plastic=True),
    )


def reorganisation(
    opts: SlowWaveOptions,
    p: SlowWaveParams,
    key: PRNGKeyArray,
    *,
    condition: Literal["all_up", "global_up", "local_up"] = "all_up",
    n_set: Annotated[int, Integer(1)] = 40,
    rate_start: Hz = 7.5,
    rate_drop: Hz = 2.5,
    wake_rate: Hz = 5.0,
    w0: Weight = 0.09,
    t_wake: Time = 100000.0,
    t_sleep: Time = 900000.0,
    t_on: Time = 200000.0,
    readout_from: Time = 10000.0,
    wake_u0: Annotated[float, Interval(-80.0, -50.0)] = -67.0,
    wake_a: Annotated[float, NonNegative()] = 0.025,
    save_every: Time = 50000.0,
) -> Experiment:
    """Memory reorganisation: a wake test (`t_wake` ms: both input sets fire
    together at `wake_rate` Hz, adaptation frozen at `wake_a`), sleep
    (`t_sleep` ms: reactivations at a rate falling from `rate_start` by
    `rate_drop` Hz fire the global set in global up states and the local
    set in local up states; plasticity from `t_on` into sleep), and a second
    wake test. Saved every `save_every` ms: both sets' weights, the
    reactivations, the readouts (cell 0's rate in each wake test after
    `readout_from`) and per-state statistics. SPEC Y4: the global set gains,
    the local set loses."""
    if 2 * n_set > opts.n_inputs:
        raise ConfigError(
            f"[protocol] n_set ({n_set}): two sets need 2·n_set <= n_inputs "
            f"({opts.n_inputs})."
        )
    _check_times(
        t_on=(t_on, t_sleep, "t_sleep"),
        readout_from=(readout_from, t_wake, "t_wake"),
    )
    t_end = 2 * t_wake + t_sleep
    driver = Reactivation(
        rate_start / 1000.0,
        rate_drop / 1000.0,
        wake_rate / 1000.0,
        t_wake,
        t_sleep,
        t_on,
        opts.n_inputs,
        n_set,
        CONDITIONS[condition],
    )
    model = _network_map(
        opts,
        p,
        key,
        infomax(p, t_wake + t_on),
        driver,
        0.0,
        readout_from=readout_from,
        wake_v=wake_u0 - p.u_rest,
        wake_a=wake_a,
    )
    return Experiment(
        model,
        model.init(w0),
        t0=0.0,
        t1=t_end,
        dt=DT,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=TaskObservables(n_set),
    )


# ------------------------------------------------------------- rate lattice
def waves(
    opts: SlowWaveOptions,
    p: SlowWaveParams,
    key: PRNGKeyArray,
    *,
    start: Literal["random", "left", "right"] = "random",
    t_end: Time = 20000.0,
    save_every: Time = 5.0,
) -> Experiment:
    """Travelling up-state waves in the E–I rate lattice (`n_x` × `n_y`
    sites, nearest-neighbour coupling `wave_coupling`, noise `wave_noise`):
    `start` = "random" draws each site's adaptation uniformly in [0, 0.5]
    (from the key); "left"/"right" start the first/last max(2, n_x/8)
    columns up (r_E = 1, a = 0) and the others down with a = 0.2 (excitable:
    a neighbour's up state recruits them). The E rate of every site is saved
    every `save_every` ms; the report finds up onsets and measures the
    waves' speed and direction. Sweep `wave_coupling` × `wave_noise`."""
    net = rate_lattice(opts, p)
    shape = net.shape
    if start == "random":
        a0 = jr.uniform(key, shape, minval=0.0, maxval=0.5)
        y0 = net.init(a=a0)
    else:
        col = np.arange(shape[0]) < max(2, shape[0] // 8)
        if start == "right":
            col = col[::-1]
        if len(shape) == 2:
            col = np.repeat(col[:, None], shape[1], axis=1)
        y0 = net.init(rE=jnp.asarray(col, float), a=jnp.where(col, 0.0, 0.2))
    return Experiment(
        net,
        y0,
        t0=0.0,
        t1=t_end,
        dt=opts.rate_dt,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=WaveObservables(),
    )
