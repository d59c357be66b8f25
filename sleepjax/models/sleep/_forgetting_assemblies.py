"""Sleep and catastrophic forgetting with cell assemblies (after González,
Mak-McCully, Rosen, Cash, Chauvette, Bazhenov & Timofeev 2020, eLife): the
paper's interference case, S1 = ABCDE then S1* = EDCBA on the same groups of
neurons, then an N3 night of spontaneous activity with STDP at a stage
gain."""

from __future__ import annotations

from typing import Annotated, ClassVar

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._errors import Integer, Interval, NonNegative, OnGrid, Positive
from ..._experiment import Experiment, save_grid
from ..._model import Model
from ..._spec import AbstractObservables
from ...analysis import chain_weights, cued_recall, group_weights
from ...dynamics import InhibitedRateNetwork
from ...plasticity import Bounded, Masked, RateSTDP
from ...sleep import Hypnogram, StageNoise, StageSchedule, from_table, stage_gain
from ...stimuli import SequenceInput
from ._forgetting import layout
from ._options import SleepOptions, SleepParams

Time = Annotated[float, OnGrid()]

_UNITS = {
    "recall": (
        "cued recall",
        "1",
        "per sequence (S1, S1*): cue its first group, run 30 τ without noise "
        "or plasticity; the fraction of consecutive group pairs whose mean "
        "rates peak (> 0.2) in the sequence's order",
    ),
    "chain": (
        "chain weight",
        "1",
        "mean weight from each group to the next along S1, along S1*, and "
        "between groups that are neighbours in neither (background)",
    ),
    "sleep_stage": ("sleep stage", "code", "0 WAKE, 1 N1, 2 N2, 3 N3, 4 REM"),
    "w_norm": ("weight norm", "1", "Frobenius norm of W"),
    "activity": ("activity", "1", "mean rate max(0, tanh x)"),
}

CUE, TEST_TIME, TEST_DT = 2.0, 30.0, 0.1


class AssemblyForgettingObservables(AbstractObservables):
    """Cued recall of each sequence (`cued_recall`), chain weights
    (`chain_weights`), the stage, ‖W‖_F and the mean rate."""

    groups: Float[Array, "G n"]
    orders: Int[Array, "S K"]
    drive: Float[Array, ""]
    hypnogram: Hypnogram

    families: ClassVar = {"memory": ("recall", "chain")}
    default_fit: ClassVar = ("chain",)
    headline: ClassVar = ("recall", "chain")
    time_units: ClassVar = "τ (the neuronal time constant)"
    units: ClassVar = _UNITS

    @property
    def names(self) -> tuple[str, ...]:
        return ("recall", "chain", "sleep_stage", "w_norm", "activity")

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        if name == "recall":
            return ("sequence",)
        if name == "chain":
            return ("pathway",)
        return super().dims(name, ndim)

    def __call__(self, t, y, model) -> dict[str, Array]:
        W = y.W
        recall = jnp.stack(
            [
                cued_recall(
                    model.dynamics,
                    W,
                    self.groups,
                    self.orders[s],
                    drive=self.drive,
                    cue=CUE,
                    duration=TEST_TIME,
                    dt=TEST_DT,
                )
                for s in range(self.orders.shape[0])
            ]
        )
        return {
            "recall": recall,
            "chain": chain_weights(group_weights(W, self.groups), self.orders),
            "sleep_stage": self.hypnogram.stage_at(t).astype(W.dtype),
            "w_norm": jnp.sqrt(jnp.sum(W * W)),
            "activity": jnp.mean(model.dynamics.activity(y.neurons).phi),
        }


def forgetting_assemblies(
    opts: SleepOptions,
    p: SleepParams,
    key: PRNGKeyArray,
    *,
    length: Annotated[int, Integer(3)] = 5,
    drive: Annotated[float, Positive()] = 2.0,
    dwell: Time = 5.0,
    gap: Time = 10.0,
    repeats: Annotated[int, Integer(1)] = 10,
    rest: Time = 20.0,
    sleep_time: Time = 1400.0,
    n3_stdp: Annotated[float, NonNegative()] = 0.75,
    n3_noise: Annotated[float, NonNegative()] = 0.6,
    wake_noise: Annotated[float, NonNegative()] = 0.0,
    connectivity: Annotated[float, Interval(0.0, 1.0)] = 0.5,
    w_init: Annotated[float, NonNegative()] = 0.04,
    w_max: Annotated[float, Positive()] = 1.2,
    inhibition: Annotated[float, NonNegative()] = 3.0,
    bias: float = -0.3,
    bias_spread: Annotated[float, NonNegative()] = 0.2,
    morning: Time = 10.0,
    save_every: Time = 10.0,
) -> Experiment:
    r"""Example 4 of the sleep issue with the paper's structure: cell
    assemblies and the reversed sequence on the same neurons.

    The n neurons form `length` groups of n / `length` (A, B, C, …). Dynamics
    `InhibitedRateNetwork`: rates r = max(0, tanh x), global inhibition
    `inhibition`·mean(r), per-neuron bias `bias` + `bias_spread`·N(0, 1).
    Synapses exist with probability `connectivity` (no autapses; the mask is
    fixed), start at `w_init`·U(0, 1) and stay in [0, `w_max`] (`Bounded`).
    Plasticity: rate STDP with equal potentiation and depression (a_P = 1,
    a_D = −1, τ_P = τ_D = `tau_y`) at learning rate η.

    Wake: S1 = A B C … presented (`SequenceInput`, each group driven with
    amplitude `drive` for `dwell`, `repeats` times, `gap` between repeats),
    `rest`, then S1* = … C B A on the same neurons the same way, `rest`.
    Night: `sleep_time` τ of N3, no input, OU noise of stationary σ =
    `n3_noise` (spontaneous activity), STDP at gain `n3_stdp` (0.75 after
    González et al.; 0: the control night). Observables: `recall` by a cued
    run and the `chain` weights (S1, S1*, background) at every save time.
    """
    n = opts.n
    if n % length or n // length < 2:
        raise ValueError(
            f"forgetting_assemblies: n = {n} neurons must split into `length` = "
            f"{length} groups of at least 2 (n a multiple of {length})."
        )
    k_mask, k_bias, k_w, k_init = jr.split(key, 4)
    f = jnp.result_type(float)
    groups = jnp.arange(n)[None, :] // (n // length) == jnp.arange(length)[:, None]
    groups = groups.astype(f)
    orders = jnp.stack([jnp.arange(length), jnp.arange(length)[::-1]])
    mask = (jr.uniform(k_mask, (n, n)) < connectivity) * (1.0 - jnp.eye(n, dtype=f))
    b = bias + bias_spread * jr.normal(k_bias, (n,), f)
    t1, t2, t_sleep = layout(length, dwell, gap, repeats, rest)
    hyp = from_table([("N3", sleep_time)], t0=t_sleep)
    stdp = RateSTDP(a_P=1.0, a_D=-1.0, tau_P=p.tau_y, tau_D=p.tau_y)
    rule = stage_gain(Bounded(Masked(stdp, mask), 0.0, w_max), hyp, {"N3": n3_stdp})
    stimuli = (
        SequenceInput(groups[orders[0]], drive, t1, dwell, gap, repeats),
        SequenceInput(groups[orders[1]], drive, t2, dwell, gap, repeats),
        StageNoise(n, StageSchedule(hyp, {"N3": n3_noise}, wake_noise)),
    )
    net = InhibitedRateNetwork(n=n, w_inh=inhibition, bias=b)
    model = Model(net, rule, eta=p.eta, stimuli=stimuli)
    W0 = w_init * jr.uniform(k_w, (n, n), f) * mask
    t_end = t_sleep + sleep_time + morning
    return Experiment(
        model,
        model.init(k_init, W=W0),
        t0=0.0,
        t1=float(t_end),
        dt=opts.dt,
        save_ts=save_grid(0.0, float(t_end), save_every),
        observe=AssemblyForgettingObservables(
            groups, orders, jnp.asarray(drive, f), hyp
        ),
    )
