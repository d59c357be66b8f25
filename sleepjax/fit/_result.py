"""`FitResult`: what `fit` returns."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ._params import Param, set_values


@dataclasses.dataclass
class FitResult:
    """What `fit` returns. Arrays have a restart axis `R`.

    **Fields:**

    - `names`, `constraints`: the trainable parameters and their constraints.
    - `values`: dict name → fitted value `(R, ...)` (after the last step).
    - `init_values`: dict name → starting value `(R, ...)`.
    - `true_values`: dict name → value in `data.params` (or `None`).
    - `trace`: dict name → value at every step `(steps + 1, R, ...)`.
    - `loss`: `(steps + 1, R)`, the loss before each step and after the last
      (fewer rows if `tol` stopped the fit early).
    - `grad_norm`: `(steps, R)`, global gradient norm (unconstrained space).
    - `best`: index of the restart with the lowest final loss.
    - `ts`: save times; `target`: the data's observables `(D, T, ...)`;
      `fitted`, `initial`: simulated observables at the fitted / starting
      values `(R, draws, T, ...)`.
    - `seconds`: wall time of the optimisation loop after the first step;
      `compile_seconds`: time of the first step (compilations included).
    """

    names: tuple[str, ...]
    constraints: tuple[str, ...]
    values: dict[str, np.ndarray]
    init_values: dict[str, np.ndarray]
    true_values: dict[str, np.ndarray] | None
    trace: dict[str, np.ndarray]
    loss: np.ndarray
    grad_norm: np.ndarray
    best: int
    ts: np.ndarray
    target: dict[str, np.ndarray]
    fitted: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]
    seconds: float
    compile_seconds: float
    params_in: Any = dataclasses.field(default=None, repr=False)
    stop_reason: str = ""
    labels: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    time_units: str = ""
    trainables: tuple[Param, ...] = dataclasses.field(default=(), repr=False)

    @property
    def final_loss(self) -> np.ndarray:
        return self.loss[-1]

    def params(self, restart: int | None = None):
        """The full parameter pytree with the fitted values of `restart`
        (default: the best)."""
        r = self.best if restart is None else restart
        return set_values(
            self.trainables, self.params_in, [self.values[n][r] for n in self.names]
        )

    def relative_error(self, restart: int | None = None) -> dict[str, float]:
        """|fitted − true| / |true| per parameter (needs `true_values`)."""
        if self.true_values is None:
            raise ValueError("the data have no known parameters.")
        r = self.best if restart is None else restart
        return {
            n: float(
                np.max(np.abs(self.values[n][r] - self.true_values[n]))
                / np.max(np.abs(self.true_values[n]))
            )
            for n in self.names
        }

    def summary(self) -> str:
        """A table of the given start (restart 0's), fitted (best restart) and
        true values, and why the fit stopped."""
        r = self.best
        lines = [
            f"best restart {r}: loss {self.loss[0, r]:.4g} -> {self.loss[-1, r]:.4g}"
            + (f"; stopped because {self.stop_reason}" if self.stop_reason else "")
        ]
        if r != 0:
            starts = ", ".join(
                f"{n}={_fmt(self.init_values[n][r])}" for n in self.names
            )
            lines.append(f"(restart {r} started from the perturbed start {starts})")
        lines.append(
            f"{'param':>12} {'start':>11} {'fitted':>11} {'true':>11} {'rel.err':>8}"
        )
        for n in self.names:
            s, f = self.init_values[n][0], self.values[n][r]
            t = None if self.true_values is None else self.true_values[n]
            err = "" if t is None else f"{self.relative_error()[n]:8.2%}"
            lines.append(
                f"{n:>12} {_fmt(s):>11} {_fmt(f):>11} "
                f"{'' if t is None else _fmt(t):>11} {err}"
            )
        return "\n".join(lines)


def _fmt(a) -> str:
    a = np.asarray(a)
    return f"{float(a):.5g}" if a.size == 1 else f"[{a.size} values]"
