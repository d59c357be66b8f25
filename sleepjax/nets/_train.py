r"""Training as a discrete-time map: one step = one epoch over a fixed data set.

`EpochTrainer` is an `AbstractMap`: its state is a `TrainState` (parameters,
running statistics, optimiser state, early-stopping bookkeeping), and step
$k$ runs one epoch: the data set is shuffled with the step's key, cut into
$\lfloor n/B\rfloor$ mini-batches of size $B$ (the remainder is left out of
that epoch), and the objective's `update` is applied to each in turn
(mini-batch $j$ gets the key $\text{fold\_in}(\text{key}_k, j)$ and the
time $t_k + j/n_b$, in epochs, for objectives that change over time, e.g.
with the stages of a night). So an
`Experiment` with $dt = 1$ runs $t_1$ epochs, saves observables at the start
of chosen epochs, and sweeps vmap whole training runs over seeds and
parameters.

Early stopping (Keras `EarlyStopping(monitor="loss", patience=P)`): after
each epoch the mean training loss $\bar L$ is compared with the best so far;
an improvement resets a counter, anything else increments it, and training
stops once the counter reaches $P$ (epoch ≥ 2). A stopped state is left
unchanged by later steps. `patience = 0` never stops.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, PyTree

from .._system import AbstractMap


class TrainState(eqx.Module):
    """A training run's state.

    - `params`: trainable parameters (any pytree, e.g. equinox modules).
    - `stats`: non-trainable running statistics (batch norm), or `None`.
    - `opt_state`: the optimiser's state.
    - `loss`: mean training loss of the last epoch (`inf` before any).
    - `best`: best epoch loss so far; `wait`: epochs since it improved.
    - `stopped`: early stopping has ended training.
    - `epochs`: epochs trained.
    """

    params: PyTree
    stats: PyTree
    opt_state: PyTree
    loss: Float[Array, ""]
    best: Float[Array, ""]
    wait: Int[Array, ""]
    stopped: Bool[Array, ""]
    epochs: Int[Array, ""]


class AbstractObjective(eqx.Module):
    """What is trained and how: an optimiser and one mini-batch update."""

    @abc.abstractmethod
    def init(self, params: PyTree) -> PyTree:
        """The optimiser state for `params`."""

    @abc.abstractmethod
    def update(self, params, stats, opt_state, batch, key: PRNGKeyArray):
        """One mini-batch: `(params, stats, opt_state, loss)`."""

    def update_at(self, t, params, stats, opt_state, batch, key: PRNGKeyArray):
        """One mini-batch at time `t` (epochs); the same at every time unless
        overridden."""
        return self.update(params, stats, opt_state, batch, key)


class EpochTrainer(AbstractMap):
    """One epoch of mini-batch training per step (module docs).

    **Fields:** `objective` (an `AbstractObjective`), `data` (a pytree of
    arrays with a common leading axis n: the whole training set), `batch_size`
    B ≤ n (static), `patience` (static; 0: no early stopping).
    """

    objective: AbstractObjective
    data: PyTree[Array]
    batch_size: int = eqx.field(static=True)
    patience: int = eqx.field(static=True)

    def __init__(self, objective, data, batch_size: int = 32, patience: int = 3):
        n = {jnp.shape(x)[0] for x in jtu.tree_leaves(data)}
        if len(n) != 1:
            raise ValueError("`data` leaves must share their leading axis.")
        if not 1 <= batch_size <= n.pop():
            raise ValueError(f"`batch_size` must be in [1, n], got {batch_size}.")
        if patience < 0:
            raise ValueError(f"`patience` must be >= 0, got {patience}.")
        self.objective = objective
        self.data = data
        self.batch_size = int(batch_size)
        self.patience = int(patience)

    @property
    def n(self) -> int:
        return jnp.shape(jtu.tree_leaves(self.data)[0])[0]

    def init(self, params, stats=None) -> TrainState:
        """The state before the first epoch."""
        dtype = jnp.result_type(float)
        return TrainState(
            params=params,
            stats=stats,
            opt_state=self.objective.init(params),
            loss=jnp.array(jnp.inf, dtype),
            best=jnp.array(jnp.inf, dtype),
            wait=jnp.int32(0),
            stopped=jnp.array(False),
            epochs=jnp.int32(0),
        )

    def _epoch(self, t, state: TrainState, key) -> TrainState:
        nb = self.n // self.batch_size
        k_perm, k_batch = jr.split(key)
        order = jr.permutation(k_perm, self.n)[: nb * self.batch_size]
        order = order.reshape(nb, self.batch_size)

        def one(carry, inp):
            params, stats, opt = carry
            j, idx = inp
            batch = jtu.tree_map(lambda x: x[idx], self.data)
            params, stats, opt, loss = self.objective.update_at(
                t + j / nb, params, stats, opt, batch, jr.fold_in(k_batch, j)
            )
            return (params, stats, opt), loss

        carry = (state.params, state.stats, state.opt_state)
        (params, stats, opt), losses = jax.lax.scan(one, carry, (jnp.arange(nb), order))
        loss = jnp.mean(losses).astype(state.loss.dtype)
        better = loss < state.best
        wait = jnp.where(better, 0, state.wait + 1)
        epochs = state.epochs + 1
        stop = (self.patience > 0) & (wait >= self.patience) & (epochs >= 2)
        return TrainState(
            params=params,
            stats=stats,
            opt_state=opt,
            loss=loss,
            best=jnp.where(better, loss, state.best),
            wait=wait.astype(jnp.int32),
            stopped=stop,
            epochs=epochs,
        )

    def step(self, t, state: TrainState, key: PRNGKeyArray) -> TrainState:
        return jax.lax.cond(
            state.stopped, lambda s: s, lambda s: self._epoch(t, s, key), state
        )
