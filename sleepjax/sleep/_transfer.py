"""Two-stage memory transfer: a fast notebook replays into a slow student,
gated by the sleep schedule (after Sun, Advani, Spruston, Saxe & Fitzgerald
2023, "Go-CLS")."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float

from .._errors import as_param, check_positive
from .._system import AbstractMap
from ._stages import StageSchedule


class TransferState(eqx.Module):
    """The student's weights `w` `(d,)`, the best weights by the validation
    error so far `w_best`, and that error `best`."""

    w: Float[Array, " d"]
    w_best: Float[Array, " d"]
    best: Float[Array, ""]


class NotebookTransfer(AbstractMap):
    r"""A notebook hippocampus replaying stored examples into a linear
    student cortex, one replay per step where the schedule is on.

    The notebook stores $P$ examples $\xi_\mu = (x_\mu, y_\mu)$ one-shot
    (learning rate 1). A replay starts from a random cue $c \sim N(0, I)$
    and retrieves in one step of a modern Hopfield network,
    $\hat\xi = \Xi^\top \mathrm{softmax}(\beta\,\Xi c / |c|)$: for large β a
    stored example, chosen at random. The student learns from it by a
    gradient step with its own, slow learning rate:

    $$w \leftarrow w + \eta\,g(t)\,(\hat y - w\cdot\hat x)\,\hat x,$$

    with $g(t)$ the replay schedule (e.g. 1 in N2 and N3). The last
    `n_val` stored examples are never replayed; their mean squared error is
    the student's validation error, and `w_best` keeps the weights where it
    was lowest (the generalisation-optimised student stops transfer there).

    **Arguments:**

    - `x`: stored inputs, shape `(P, d)`; `y`: stored targets, `(P,)`.
    - `n_val`: examples held out for validation (static).
    - `eta`: the student's learning rate. `beta`: retrieval sharpness.
    - `gate`: a `StageSchedule` (or any schedule) of replays.
    """

    x: Float[Array, "p d"] = eqx.field(converter=lambda v: as_param(v, "x"))
    y: Float[Array, " p"] = eqx.field(converter=lambda v: as_param(v, "y"))
    eta: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "eta"))
    beta: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "beta"))
    gate: StageSchedule
    n_val: int = eqx.field(static=True)

    def __check_init__(self):
        if self.x.ndim != 2 or self.y.shape != self.x.shape[:1]:
            raise ValueError(
                f"NotebookTransfer: `x` must be (P, d) and `y` (P,), got "
                f"{self.x.shape} and {self.y.shape}."
            )
        if not 0 <= self.n_val < self.x.shape[0]:
            raise ValueError(
                f"NotebookTransfer: `n_val` must be in [0, {self.x.shape[0]}), "
                f"got {self.n_val}."
            )
        check_positive("NotebookTransfer.eta", self.eta)
        check_positive("NotebookTransfer.beta", self.beta)

    def init(self) -> TransferState:
        d = self.x.shape[1]
        w = jnp.zeros((d,), self.x.dtype)
        return TransferState(w=w, w_best=w, best=self.validation(w))

    def validation(self, w) -> Float[Array, ""]:
        """Mean squared error on the held-out examples (0 without any)."""
        if self.n_val == 0:
            return jnp.zeros((), self.x.dtype)
        xv, yv = self.x[-self.n_val :], self.y[-self.n_val :]
        return jnp.mean((xv @ w - yv) ** 2)

    def replay(self, key) -> tuple[Float[Array, " d"], Float[Array, ""]]:
        """One retrieval from a random cue: (x̂, ŷ)."""
        xi = jnp.concatenate([self.x, self.y[:, None]], axis=1)
        xi = xi[: xi.shape[0] - self.n_val]
        c = jr.normal(key, (xi.shape[1],), xi.dtype)
        norms = jnp.linalg.norm(xi, axis=1)
        a = jax.nn.softmax(self.beta * (xi @ c) / (norms * jnp.linalg.norm(c)))
        out = a @ xi
        return out[:-1], out[-1]

    def step(self, t, y: TransferState, key) -> TransferState:
        xh, yh = self.replay(key)
        g = self.gate(t)
        w = y.w + self.eta * g * (yh - y.w @ xh) * xh
        if self.n_val == 0:
            return TransferState(w=w, w_best=w, best=y.best)
        val = self.validation(w)
        better = val < y.best
        return TransferState(
            w=w,
            w_best=jnp.where(better, w, y.w_best),
            best=jnp.where(better, val, y.best),
        )
