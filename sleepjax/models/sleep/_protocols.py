"""The sleep model's protocols: a night of the Susman network with
stage-dependent homeostasis, noise and prioritised replay (`night`), and the
synaptic homeostasis hypothesis in a Hebbian rate network (`shy`)."""

from __future__ import annotations

from typing import Annotated, Literal

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import Integer, Interval, NonNegative, OnGrid, Positive
from ..._experiment import Experiment, save_grid
from ..._model import Model
from ..._noise import WeightNoise
from ...dynamics import RateNetwork
from ...plasticity import SumRule
from ...sleep import (
    SHY,
    Replay,
    StageNoise,
    StageSchedule,
    generate,
    priority,
    stage_gain,
    stage_mix,
    targeted,
)
from ...stimuli import AddWeights, Pulse, memory_matrix
from .. import susman
from ._observables import SleepObservables
from ._options import SleepOptions, SleepParams

Time = Annotated[float, OnGrid()]
Rate = Annotated[float, NonNegative()]
Fraction = Annotated[float, Interval(0.0, 1.0)]
NREM_STAGES = ("N1", "N2", "N3")


def orthonormal_planes(key: PRNGKeyArray, n: int, m: int) -> Float[Array, "m 2 n"]:
    """m planes (u_k, v_k), all 2m vectors orthonormal (QR of a Gaussian
    matrix); needs n ≥ 2m."""
    if n < 2 * m:
        raise ValueError(f"{m} memory planes need n >= {2 * m} neurons; got n={n}.")
    q, r = jnp.linalg.qr(jr.normal(key, (n, 2 * m)))
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    return q.T.reshape(m, 2, n)


def assemblies(key: PRNGKeyArray, m: int, n: int, coding) -> Float[Array, "m n"]:
    """m sparse {0, 1} cell assemblies: each is an independent random set of
    exactly round(`coding`·n) neurons (at least 1); `coding` may be a tracer."""
    size = jnp.maximum(jnp.round(coding * n), 1.0)
    rank = jnp.argsort(jnp.argsort(jr.uniform(key, (m, n)), axis=1), axis=1)
    return (rank < size).astype(jnp.result_type(float))


def _susman_parts(opts: SleepOptions, p: SleepParams):
    """The Susman model's options and parameters for its public builders
    (`susman.homeostasis`, `susman.stdp`)."""
    so = susman.SusmanOptions(n=opts.n, rule=opts.rule, dt=opts.dt)
    sp = susman.SusmanParams(eta=p.eta, beta=p.beta, tau_y=p.tau_y, noise=p.noise)
    return so, sp


def _check_memories(strengths, n: int):
    if len(strengths) < 1:
        raise ValueError("`strengths` needs at least one memory.")
    if any(not float(s) > 0 for s in strengths):
        raise ValueError(f"`strengths` must all be > 0, got {tuple(strengths)}.")


def night(
    opts: SleepOptions,
    p: SleepParams,
    key: PRNGKeyArray,
    *,
    strengths: tuple[float, ...] = (2.0, 1.5, 1.0, 0.5),
    learn_every: Time = 40.0,
    t_sleep: Time = 200.0,
    minute: Annotated[float, Positive()] = 4.0,
    cycle: Annotated[float, Positive()] = 90.0,
    fragmentation: Rate = 0.0,
    rem_deprivation: Fraction = 0.0,
    n3_suppression: Fraction = 0.0,
    night_fraction: Annotated[float, Interval(0.01, 1.0)] = 1.0,
    nrem_homeostasis: Rate = 1.5,
    n3_stdp: Rate = 0.75,
    wake_noise: Rate = 0.2,
    nrem_noise: Rate = 0.1,
    rem_noise: Rate = 0.5,
    n2_replay: Rate = 0.02,
    n3_replay: Rate = 0.05,
    rem_replay: Rate = 0.01,
    tmr_memory: Annotated[int, Integer(-1)] = -1,
    tmr_rate: Rate = 0.02,
    cue_duration: Annotated[float, Positive()] = 20.0,
    morning: Time = 200.0,
    save_every: Time = 4.0,
) -> Experiment:
    """A night of the Susman network (example 1 of the sleep issue).

    Wake: memory k (an imaginary-coded plane, strength `strengths[k]`) is
    learned at t = (k + 1)·`learn_every`; sleep starts at `t_sleep` with a
    generated night of `n_cycles` cycles (`minute` τ per minute), then wake
    for `morning`. Dissipative homeostasis runs throughout, `nrem_homeostasis`
    times stronger in N1-N3; antisymmetric STDP at gain 1, `n3_stdp` in N3;
    input noise σ per stage (`wake_noise`, `nrem_noise` in N1-N3,
    `rem_noise`); replay cues (the plane's rotation u → −v → −u → v) drawn
    from the memories' priority (option `priority`) at `n2_replay` /
    `n3_replay` per τ, mixed cues in REM at `rem_replay`; targeted
    reactivation of memory `tmr_memory` (−1: none) at `tmr_rate` in N2-N3.
    Disorder: `fragmentation` (wake intrusions per minute), `rem_deprivation`,
    `n3_suppression`, `night_fraction` (see `sleepjax.sleep.generate`).
    """
    _check_memories(strengths, opts.n)
    m = len(strengths)
    if not -1 <= tmr_memory < m:
        raise ValueError(
            f"`tmr_memory` must be -1 (none) or in [0, {m}), got {tmr_memory}."
        )
    t_learn = (np.arange(m) + 1.0) * learn_every
    if t_learn[-1] >= t_sleep:
        raise ValueError(
            f"every memory must be learned before sleep: the last at "
            f"{t_learn[-1]:g} >= t_sleep = {t_sleep:g} (lower `learn_every`)."
        )
    k_rule, k_plane, k_init, k_night, k_rep, k_tmr = jr.split(key, 6)
    planes = orthonormal_planes(k_plane, opts.n, m)
    hyp = generate(
        k_night,
        n_cycles=opts.n_cycles,
        cycle=cycle,
        mix=stage_mix(opts.n_cycles),
        fragmentation=fragmentation,
        rem_deprivation=rem_deprivation,
        n3_suppression=n3_suppression,
        night_fraction=night_fraction,
        t0=t_sleep,
        time_scale=minute,
    )
    t_end = t_sleep + opts.n_cycles * cycle * minute + morning
    so, sp = _susman_parts(opts, p)
    nrem = {s: nrem_homeostasis for s in NREM_STAGES}
    rules = SumRule(
        stage_gain(susman.stdp(so, sp), hyp, {"N3": n3_stdp}),
        stage_gain(susman.homeostasis(so, sp, k_rule), hyp, nrem),
    )
    # priorities from what the network holds at sleep onset (expected decay)
    s = jnp.asarray(strengths, float)
    age = t_sleep - jnp.asarray(t_learn, float)
    held = s * jnp.exp(-p.eta * p.beta * age)
    prio = priority(
        opts.priority,
        strength=held,
        age=age,
        error=jnp.exp(-held),
        tau=p.tau_recency,
        power=p.power,
    )
    seqs = jnp.stack([jnp.stack([u, -v, -u, v]) for u, v in planes])
    rates = {"N2": n2_replay, "N3": n3_replay, "REM": rem_replay}
    replay = Replay(
        seqs,
        prio,
        StageSchedule(hyp, rates, 0.0),
        k_rep,
        amplitude=p.cue,
        duration=cue_duration,
        interval=cue_duration * 1.25,
        t0=t_sleep,
    )
    noise = StageNoise(
        opts.n,
        StageSchedule(hyp, {"WAKE": wake_noise, "REM": rem_noise}, nrem_noise),
    )
    stimuli = [replay, noise]
    if tmr_memory >= 0:
        stimuli.append(
            targeted(
                seqs,
                tmr_memory,
                ("N2", "N3"),
                tmr_rate,
                k_tmr,
                hypnogram=hyp,
                amplitude=p.cue,
                duration=cue_duration,
                interval=cue_duration * 1.25,
                t0=t_sleep + 0.5 * cue_duration,
            )
        )
    model = Model(
        RateNetwork(n=opts.n),
        rules,
        eta=p.eta,
        weight_noise=WeightNoise(p.noise / np.sqrt(opts.n)),
        stimuli=tuple(stimuli),
    )
    kx, kw = jr.split(k_init)
    W0 = p.w0_scale * jr.normal(kw, (opts.n, opts.n)) / np.sqrt(opts.n)
    events = tuple(
        AddWeights(float(t), memory_matrix(u, v, s[k]))
        for k, (t, (u, v)) in enumerate(zip(t_learn, planes, strict=True))
    )
    obs = SleepObservables(hyp, planes)
    return Experiment(
        model,
        model.init(kx, W=W0),
        t0=0.0,
        t1=t_end,
        dt=opts.dt,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=obs,
        events=events,
    )


def shy(
    opts: SleepOptions,
    p: SleepParams,
    key: PRNGKeyArray,
    *,
    exposures: tuple[float, ...] = (4.0, 2.0, 1.0, 1.0, 0.5, 0.5),
    t_day: Time = 400.0,
    minute: Annotated[float, Positive()] = 1.0,
    cycle: Annotated[float, Positive()] = 90.0,
    delta: Annotated[float, Interval(0.0, 0.99)] = 0.18,
    spare: Annotated[float, Interval(0.0, 0.99)] = 0.0,
    drive: Annotated[float, Positive()] = 0.3,
    patterns: Literal["dense", "assemblies"] = "dense",
    coding: Annotated[float, Interval(0.0, 1.0)] = 0.1,
    morning: Time = 50.0,
    save_every: Time = 2.0,
) -> Experiment:
    r"""SHY (example 2): a day of Hebbian potentiation, a night of downscaling.

    Day: patterns ξ_k are presented as input pulses of amplitude `drive`,
    pattern k for `exposures[k]` τ (at evenly spaced times), with
    Hebbian potentiation ΔW = η φφᵀ on in WAKE only. Night (from `t_day`, a
    generated night, `minute` τ per minute): downscaling in N2 and N3 at the
    rate that multiplies unspared weights by 1 − `delta` over the night's
    expected N2 + N3 time (`shy_rate`), sparing the largest `spare` fraction
    of |W|. No weight noise, no homeostasis besides SHY.

    `patterns`: `"dense"`, random ±1 patterns (every memory is written into
    every synapse), or `"assemblies"`, sparse {0, 1} cell assemblies of
    round(`coding`·n) neurons each (`assemblies`; memories share few
    synapses, as in the SHY models of Hashmi, Nere & Tononi 2013)."""
    if len(exposures) < 1 or any(not float(e) > 0 for e in exposures):
        raise ValueError(f"`exposures` must be > 0, one per memory; got {exposures}.")
    m = len(exposures)
    k_pat, k_init, k_night = jr.split(key, 3)
    if patterns == "assemblies":
        xi = assemblies(k_pat, m, opts.n, coding)
    else:
        xi = jr.rademacher(k_pat, (m, opts.n), dtype=jnp.result_type(float))
    gap = t_day / m
    onsets = [k * gap + 0.1 * gap for k in range(m)]
    if any(e > 0.8 * gap for e in exposures):
        raise ValueError(
            f"each exposure must fit in its share of the day ({0.8 * gap:g} τ); "
            f"got {max(exposures):g} (lengthen `t_day`)."
        )
    hyp = generate(
        k_night,
        n_cycles=opts.n_cycles,
        cycle=cycle,
        mix=stage_mix(opts.n_cycles),
        t0=t_day,
        time_scale=minute,
    )
    # e^{-η κ T} = 1 − δ over this night's N2 + N3 time T
    kappa = -jnp.log1p(-delta) / (p.eta * hyp.duration_in(("N2", "N3")))
    rule = SHY(
        wake=StageSchedule(hyp, {"WAKE": 1.0}, 0.0),
        sleep=StageSchedule(hyp, {"N2": kappa, "N3": kappa}, 0.0),
        spare=spare,
    )
    pulses = tuple(
        Pulse(xi[k], drive, onsets[k], float(exposures[k])) for k in range(m)
    )
    model = Model(RateNetwork(n=opts.n), rule, eta=p.eta, stimuli=pulses)
    kx, kw = jr.split(k_init)
    W0 = p.w0_scale * jr.normal(kw, (opts.n, opts.n)) / np.sqrt(opts.n)
    t_end = t_day + opts.n_cycles * cycle * minute + morning
    return Experiment(
        model,
        model.init(kx, W=W0),
        t0=0.0,
        t1=t_end,
        dt=opts.dt,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=SleepObservables(hyp, xi),
    )
