"""Two-stage transfer (after Sun et al. 2023, Go-CLS): a linear teacher, a
notebook hippocampus, a linear student cortex learning from replays in
N2/N3 over several nights."""

from __future__ import annotations

from typing import Annotated, ClassVar

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import Integer, Interval, Positive
from ..._experiment import Experiment, save_grid
from ..._spec import AbstractObservables
from ...sleep import Hypnogram, NotebookTransfer, StageSchedule, nightly
from ._options import SleepOptions

_UNITS = {
    "gen_error": (
        "generalisation error",
        "1",
        "|w − w*|² / |w*|²: the student's error on new inputs, noise excluded, "
        "relative to the teacher's signal",
    ),
    "gen_error_stopped": (
        "generalisation error, stopped",
        "1",
        "the same for the weights at the lowest validation error so far "
        "(generalisation-optimised transfer)",
    ),
    "mem_error": (
        "memorisation error",
        "1",
        "mean (w·x_μ − y_μ)² over the replayed examples / mean y_μ²",
    ),
    "sleep_stage": ("sleep stage", "code", "0 WAKE, 1 N1, 2 N2, 3 N3, 4 REM"),
}


class TransferObservables(AbstractObservables):
    """Generalisation and memorisation errors of the student, and the stage."""

    w_star: Float[Array, " d"]
    x: Float[Array, "p d"]
    y: Float[Array, " p"]
    hypnogram: Hypnogram

    headline: ClassVar = ("gen_error", "gen_error_stopped", "mem_error")
    default_fit: ClassVar = ("gen_error",)
    time_units: ClassVar = "minutes"
    units: ClassVar = _UNITS

    @property
    def names(self) -> tuple[str, ...]:
        return ("gen_error", "gen_error_stopped", "mem_error", "sleep_stage")

    def __call__(self, t, s, model) -> dict[str, Array]:
        norm = jnp.sum(self.w_star**2)
        return {
            "gen_error": jnp.sum((s.w - self.w_star) ** 2) / norm,
            "gen_error_stopped": jnp.sum((s.w_best - self.w_star) ** 2) / norm,
            "mem_error": jnp.mean((self.x @ s.w - self.y) ** 2) / jnp.mean(self.y**2),
            "sleep_stage": self.hypnogram.stage_at(t).astype(s.w.dtype),
        }


def transfer(
    opts: SleepOptions,
    key: PRNGKeyArray,
    *,
    snr: Annotated[float, Positive()] = 4.0,
    load: Annotated[float, Positive()] = 1.0,
    n_val: Annotated[int, Integer(0)] = 50,
    student_eta: Annotated[float, Interval(0.0, 1.0)] = 0.3,
    retrieval_beta: Annotated[float, Positive()] = 30.0,
    nights: Annotated[int, Integer(1)] = 4,
    step: Annotated[float, Positive()] = 0.5,
    save_every: Annotated[float, Positive()] = 30.0,
) -> Experiment:
    r"""Two-stage transfer (example 3): a linear teacher y = w*·x + ε
    (x ~ N(0, I/d), w* ~ N(0, I), Var ε = 1/`snr`, d = `n`) gives
    P = `load`·d examples, stored one-shot in a notebook (modern Hopfield
    retrieval, sharpness `retrieval_beta`), plus `n_val` held-out examples.
    Over `nights` generated nights (one a day, sleep at 22:00; one replay
    opportunity every `step` minutes) the notebook replays into a linear
    student (learning rate `student_eta`) in N2 and N3 only. With a noisy
    teacher the student memorises the noise: its generalisation error passes
    a minimum and rises; stopping at the lowest validation error
    (`gen_error_stopped`) is the generalisation-optimised variant."""
    d = opts.n
    p = max(1, int(round(load * d)))
    kt, kx, kn, kh = jr.split(key, 4)
    w_star = jr.normal(kt, (d,))
    x = jr.normal(kx, (p + n_val, d)) / jnp.sqrt(d)
    y = x @ w_star + jr.normal(kn, (p + n_val,)) / jnp.sqrt(snr)
    hyp = nightly(kh, nights, 1440.0, n_cycles=opts.n_cycles, t0=1320.0)
    gate = StageSchedule(hyp, {"N2": 1.0, "N3": 1.0}, 0.0)
    net = NotebookTransfer(x, y, student_eta, retrieval_beta, gate, n_val)
    t_end = 1320.0 + (nights - 1) * 1440.0 + 600.0  # to 08:00 after the last
    t_end = float(np.ceil(t_end / step) * step)
    obs = TransferObservables(w_star, x[:p], y[:p], hyp)
    return Experiment(
        net,
        net.init(),
        t0=0.0,
        t1=t_end,
        dt=step,
        save_ts=save_grid(0.0, t_end, save_every),
        observe=obs,
    )
