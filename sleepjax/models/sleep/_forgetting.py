"""Sleep and catastrophic forgetting (after González, Mak-McCully, Rosen,
Cash, Chauvette, Bazhenov & Timofeev 2020, eLife), reduced to the rate
network with asymmetric rate STDP: learn S1, then an overlapping S2, then
an N3 night of noise-driven (spontaneous) activity with STDP at a stage
gain."""

from __future__ import annotations

from typing import Annotated, ClassVar

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import Integer, Interval, NonNegative, OnGrid, Positive
from ..._experiment import Experiment, save_grid
from ..._model import Model
from ..._spec import AbstractObservables
from ...analysis import sequence_recall
from ...dynamics import RateNetwork
from ...plasticity import RateSTDP
from ...sleep import Hypnogram, StageNoise, StageSchedule, from_table, stage_gain
from ...stimuli import SequenceInput
from ._options import SleepOptions, SleepParams

Time = Annotated[float, OnGrid()]

_UNITS = {
    "recall": (
        "sequence recall",
        "1",
        "per sequence (S1, S2): the fraction of its transitions k → k+1 "
        "recalled when element k is cued (one step of W tanh(p_k), the closest "
        "of all elements of both sequences)",
    ),
    "margin": (
        "recall margin",
        "1",
        "per sequence: mean over transitions of cos(h, next) − the largest "
        "cosine with any other element",
    ),
    "sleep_stage": ("sleep stage", "code", "0 WAKE, 1 N1, 2 N2, 3 N3, 4 REM"),
    "w_norm": ("weight norm", "1/τ", "Frobenius norm of W"),
    "activity": ("activity", "1", "root mean square rate √(mean tanh(x)²)"),
}


class ForgettingObservables(AbstractObservables):
    """Recall of each sequence (`sequence_recall`), the stage, ‖W‖_F and the
    RMS rate."""

    sequences: Float[Array, "S K n"]
    hypnogram: Hypnogram

    families: ClassVar = {"memory": ("recall", "margin")}
    default_fit: ClassVar = ("recall",)
    headline: ClassVar = ("recall", "margin")
    time_units: ClassVar = "τ (the neuronal time constant)"
    units: ClassVar = _UNITS

    @property
    def names(self) -> tuple[str, ...]:
        return ("recall", "margin", "sleep_stage", "w_norm", "activity")

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        if name in ("recall", "margin"):
            return ("sequence",)
        return super().dims(name, ndim)

    def __call__(self, t, y, model) -> dict[str, Array]:
        W = y.W
        frac, margin = sequence_recall(W, self.sequences)
        return {
            "recall": frac,
            "margin": margin,
            "sleep_stage": self.hypnogram.stage_at(t).astype(W.dtype),
            "w_norm": jnp.sqrt(jnp.sum(W * W)),
            "activity": jnp.sqrt(jnp.mean(jnp.tanh(y.neurons) ** 2)),
        }


def overlapping_sequences(
    key: PRNGKeyArray, n: int, length: int, overlap: float
) -> Float[Array, "2 K n"]:
    """Two ±1 sequences: S1 = p_1 … p_K random; S2 = q_1 … q_K with q_k equal
    to p_{K+1−k} (S1 reversed, as in González et al.) on a random fraction
    `overlap` of the neurons and independent elsewhere."""
    k1, k2, k3 = jr.split(key, 3)
    f = jnp.result_type(float)
    p = jr.rademacher(k1, (length, n), dtype=f)
    fresh = jr.rademacher(k2, (length, n), dtype=f)
    shared = jr.uniform(k3, (length, n)) < overlap
    q = jnp.where(shared, p[::-1], fresh)
    return jnp.stack([p, q])


def layout(length: int, dwell: float, gap: float, repeats: int, rest: float):
    """Times of the protocol: (S1 onset, S2 onset, sleep onset), τ. Each
    training block lasts `repeats`·(`length`·`dwell` + `gap`), followed by
    `rest` without input."""
    block = repeats * (length * dwell + gap)
    t1 = rest
    t2 = t1 + block + rest
    return t1, t2, t2 + block + rest


def forgetting(
    opts: SleepOptions,
    p: SleepParams,
    key: PRNGKeyArray,
    *,
    length: Annotated[int, Integer(2)] = 6,
    overlap: Annotated[float, Interval(0.0, 1.0)] = 0.5,
    drive: Annotated[float, Positive()] = 10.0,
    dwell: Time = 5.0,
    gap: Time = 10.0,
    repeats: Annotated[int, Integer(1)] = 10,
    rest: Time = 20.0,
    sleep_time: Time = 400.0,
    n3_stdp: Annotated[float, NonNegative()] = 0.75,
    n3_noise: Annotated[float, NonNegative()] = 1.0,
    wake_noise: Annotated[float, NonNegative()] = 0.0,
    depression: Annotated[float, NonNegative()] = 0.5,
    morning: Time = 10.0,
    save_every: Time = 5.0,
) -> Experiment:
    r"""Example 4 of the sleep issue: sleep against catastrophic forgetting.

    Two ±1 sequences of `length` elements (`overlapping_sequences`: S2 is S1
    reversed on a fraction `overlap` of the neurons). Wake: S1 is presented
    (`SequenceInput`, amplitude `drive`, `dwell` per element, `repeats`
    times, `gap` between repeats), `rest`, then S2 the same way, `rest`.
    Plasticity: rate STDP (`RateSTDP`, a_P = 1, a_D = −`depression`,
    τ_P = τ_D = `tau_y`) at learning rate η/N, so that ‖ΔW p‖ ≈ η·(time on
    an element) per pattern. Then an N3 night of `sleep_time` τ: no input,
    OU input noise of σ = `n3_noise` (spontaneous reactivation), STDP at
    gain `n3_stdp` (0.75 after González et al.; 0: the control, the same
    night without plasticity). `wake_noise` is the noise σ in wake. Recall
    is measured on W (`sequence_recall`) at every save time."""
    k_seq, k_init = jr.split(key)
    n = opts.n
    seqs = overlapping_sequences(k_seq, n, length, overlap)
    t1, t2, t_sleep = layout(length, dwell, gap, repeats, rest)
    hyp = from_table([("N3", sleep_time)], t0=t_sleep)
    rule = stage_gain(
        RateSTDP(a_P=1.0, a_D=-depression, tau_P=p.tau_y, tau_D=p.tau_y),
        hyp,
        {"N3": n3_stdp},
    )
    stimuli = (
        SequenceInput(seqs[0], drive, t1, dwell, gap, repeats),
        SequenceInput(seqs[1], drive, t2, dwell, gap, repeats),
        StageNoise(n, StageSchedule(hyp, {"N3": n3_noise}, wake_noise)),
    )
    model = Model(RateNetwork(n=n), rule, eta=p.eta / n, stimuli=stimuli)
    t_end = t_sleep + sleep_time + morning
    return Experiment(
        model,
        model.init(k_init, W=jnp.zeros((n, n))),
        t0=0.0,
        t1=float(t_end),
        dt=opts.dt,
        save_ts=save_grid(0.0, float(t_end), save_every),
        observe=ForgettingObservables(seqs, hyp),
    )
