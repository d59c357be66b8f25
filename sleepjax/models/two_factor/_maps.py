r"""The two algorithms as discrete-time maps (one step = one epoch).

Both act on a recurrent network of N binary threshold units with z-factor
synapses (`FactorisedSynapses`), thresholds θ and no autapses, storing the
columns $x^\mu$ of `X` `(N, M)` as attractors (targets $y = 2x - 1$):

- `WakeSleep` (Fig. 3): epochs $0, \dots, n_w - 1$ are wake epochs, later
  ones sleep epochs. A **wake epoch** presents every pattern once, in a
  random order drawn from the step key: fields $h = Wx - \theta$, k-WTA shift
  $d\theta$, gated covariance Hebb on factor 1
  ($u^{(1)} \mathrel{+}= \eta_w|d\theta|(x-f)(x-f)^\top$), pruning mask,
  clipping and zero diagonal, then $\theta$ = the Gaussian threshold of the
  new weights; at the end of the epoch the patterns that are fixed points
  ($\min_i y_i h_i > 0$) are marked for replay. At the **first sleep
  epoch** every neuron's factors are scaled to $\sum_{j,k}u^2 = zL$ (θ with
  the weights) and $\bar H$ starts at the mean |field|. A **sleep epoch**
  $t$ (counted from 0) is one soft-min step over the replayed patterns:
  $H = WX - \theta$, $P$ = soft-min weights (targets sign H),
  $G = PX^\top$, $u^{(k)} \mathrel{+}= \eta_t G\circ\prod_{l\ne k}u^{(l)}
  \circ m$, clipping, homeostatic scaling, $\theta \mathrel{-}= \eta_t
  \sum_\mu P$, with the ramp $\eta_t = \eta_0 + (\eta_{\max} - \eta_0)(1 -
  e^{-t/\tau})$ for $z > 1$ ($\eta_t = \eta_0$ for $z = 1$).
- `Consolidation` (Fig. 2, supervised): every epoch is one replay step over
  all patterns with the true targets: hard-min (minover) weights while any
  unit of any pattern is wrong, soft-min once all are right; constant
  rates $\eta$ (weights) and $\eta_\theta$ (thresholds).

Pruning is permanent in both (the mask only loses synapses). The wake and
sleep branches are chosen by `lax.cond` on the (unbatched) epoch, so a vmap
over networks runs one branch per step.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ..._system import AbstractMap, check_like
from ...analysis import density, l2_margin, memory_margins, synaptic_margin
from ...dynamics import gaussian_threshold, kwta_shift
from ...plasticity import (
    FactorisedSynapses,
    GatedCovarianceHebb,
    HomeostaticScaling,
    SoftMinReplay,
    hard_min,
    ramp,
    replay_gradient,
)


class NetworkState(eqx.Module):
    r"""State of a consolidating network.

    **Fields:**

    - `syn`: the factorised synapses (factors `(z, N, N)`, live mask).
    - `theta`: `(N,)` thresholds.
    - `hbar`: `(N,)` mean |field| over the replayed patterns at the last
      replay step (the soft-min's scale).
    - `replay`: `(M,)` bool, the patterns replayed (sleep: the attractors
      after wake; supervised: all).
    - `w_ref`: `(N, N)` the weights when consolidation started (to see
      which synapses it prunes).
    - `m_ref`: `(M,)` each memory's margin $\min_i y_i h_i/\|w_i\|_2$ when
      consolidation started (to see which memories gain).
    - `watch`: `(3,)` density, L2 margin and synaptic margin at the last
      convergence check (`WakeSleep` with `stop_every`).
    - `frozen`: True once the night has converged (later epochs leave the
      state as it is).
    """

    syn: FactorisedSynapses
    theta: Float[Array, " N"]
    hbar: Float[Array, " N"]
    replay: Bool[Array, " M"]
    w_ref: Float[Array, "N N"]
    m_ref: Float[Array, " M"]
    watch: Float[Array, "3"]
    frozen: Bool[Array, ""]


def attractors(W, theta, X) -> Bool[Array, " M"]:
    r"""The patterns that are fixed points: $\min_i y_i(Wx - \theta)_i > 0$."""
    return jnp.min((2.0 * X - 1.0) * (W @ X - theta[:, None]), axis=0) > 0


def mean_abs_field(W, theta, X, replay) -> Float[Array, " N"]:
    """Mean |field| of each neuron over the replayed patterns."""
    m = replay.astype(W.dtype)
    h = jnp.abs(W @ X - theta[:, None])
    return jnp.sum(h * m, axis=1) / jnp.maximum(jnp.sum(m), 1.0)


class _Replay(AbstractMap):
    """What both maps share: patterns, scaling, soft-min."""

    X: Float[Array, "N M"]
    length: Float[Array, ""]
    beta: Float[Array, ""]
    f: float = eqx.field(static=True)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def targets(self) -> Float[Array, "N M"]:
        return 2.0 * self.X - 1.0

    def refresh(self, syn: FactorisedSynapses) -> FactorisedSynapses:
        """Permanent pruning of synapses with w ≤ 1e-10 (unless `prune` is
        off: then a clipped synapse may regrow)."""
        return syn.refresh() if self.prune else syn

    def replay_step(self, y: NetworkState, P, hbar, eta, eta_theta) -> NetworkState:
        """Factors along G = P Xᵀ, clip, scale; θ −= η_θ Σ_μ P."""
        syn = self.refresh(y.syn).descend(replay_gradient(P, self.X), eta).clip()
        syn, _ = HomeostaticScaling(self.length)(syn)
        theta = y.theta - eta_theta * jnp.sum(P, axis=1)
        return dataclasses.replace(y, syn=syn, theta=theta, hbar=hbar)

    def check_state(self, y) -> None:
        m = self.X.shape[1]
        n = self.n
        z = y.syn.u.shape[0] if hasattr(y, "syn") else 1
        ref = NetworkState(
            FactorisedSynapses(jnp.zeros((z, n, n)), jnp.ones((n, n), bool)),
            jnp.zeros(n),
            jnp.zeros(n),
            jnp.ones(m, bool),
            jnp.zeros((n, n)),
            jnp.zeros(m),
            jnp.zeros(3),
            jnp.array(False),
        )
        check_like("the state", ref, y)


class WakeSleep(_Replay):
    """Wake encoding then sleep consolidation (module docs).

    **Fields:** `X` `(N, M)` patterns; leaves `length` (L), `beta` (β),
    `eta_wake`, `eta` (η_0), `eta_max`, `ramp_tau` (epochs); static `f`,
    `z`, `k` (active units under k-WTA), `wake_epochs`, `sleep_epochs`, and
    `prune` (permanent pruning, default on), and
    the convergence check: every `stop_every` sleep epochs (0: never) the
    night is frozen once the relative changes of density and margins since
    the last check, extrapolated over the epochs left, are below `stop_tol`
    (`converge`).
    """

    eta_wake: Float[Array, ""]
    eta: Float[Array, ""]
    eta_max: Float[Array, ""]
    ramp_tau: Float[Array, ""]
    z: int = eqx.field(static=True)
    k: int = eqx.field(static=True)
    wake_epochs: int = eqx.field(static=True)
    sleep_epochs: int = eqx.field(static=True, default=0)
    stop_every: int = eqx.field(static=True, default=0)
    stop_tol: float = eqx.field(static=True, default=0.01)
    prune: bool = eqx.field(static=True, default=True)

    def init(self, syn: FactorisedSynapses) -> NetworkState:
        """Mask, clip and Gaussian thresholds before the first wake epoch."""
        syn = self.refresh(syn).clip()
        theta = gaussian_threshold(syn.weights, self.f)
        W = syn.weights
        replay = attractors(W, theta, self.X)
        m0 = memory_margins(W, theta, self.X, self.targets)
        one = jnp.ones_like(theta)
        return NetworkState(syn, theta, one, replay, W, m0, one[:3], jnp.array(False))

    def present(self, y: NetworkState, mu) -> NetworkState:
        """One-shot encoding of pattern `mu`."""
        x = self.X[:, mu]
        syn = self.refresh(y.syn)
        W = syn.weights
        dtheta = kwta_shift(W @ x - y.theta, self.k)
        delta = GatedCovarianceHebb(self.eta_wake, jnp.asarray(self.f, x.dtype))
        syn = syn.add_to_factor(0, delta(x, dtheta)).clip()
        theta = gaussian_threshold(syn.weights, self.f)
        return dataclasses.replace(y, syn=syn, theta=theta)

    def wake_epoch(self, y: NetworkState, key: PRNGKeyArray) -> NetworkState:
        order = jr.permutation(key, self.X.shape[1])
        y, _ = jax.lax.scan(lambda c, mu: (self.present(c, mu), None), y, order)
        replay = attractors(y.syn.weights, y.theta, self.X)
        return dataclasses.replace(y, replay=replay)

    def fall_asleep(self, y: NetworkState) -> NetworkState:
        """Scale to Σu² = zL (θ with the weights), start H̄, keep the
        weights and memory margins as references."""
        syn, c = HomeostaticScaling(self.length)(y.syn)
        theta = y.theta / c**self.z
        W = syn.weights
        hbar = mean_abs_field(W, theta, self.X, y.replay)
        m0 = memory_margins(W, theta, self.X, self.targets)
        y = NetworkState(syn, theta, hbar, y.replay, W, m0, y.watch, y.frozen)
        return dataclasses.replace(y, watch=self.watched(y))

    def watched(self, y: NetworkState) -> Float[Array, "3"]:
        """Density, L2 margin and synaptic margin (replayed patterns)."""
        W, Y = y.syn.weights, self.targets
        rp = jnp.where(jnp.any(y.replay), y.replay, True)
        return jnp.stack(
            [
                jnp.mean(density(W)),
                jnp.mean(l2_margin(W, y.theta, self.X, Y, rp)),
                jnp.mean(synaptic_margin(W, y.theta, self.X, Y, self.z, rp)),
            ]
        )

    def converge(self, y: NetworkState, t) -> NetworkState:
        """Convergence check after sleep epoch `t`: frozen when the relative
        change of the density and of both margins since the last check,
        extrapolated linearly over the epochs left, is below `stop_tol` (a
        bound on what the rest of the night could still change, for
        decelerating curves; a power-law tail never stops)."""
        v = self.watched(y)
        left = (self.sleep_epochs - (t + 1.0)) / self.stop_every
        done = jnp.all(jnp.abs(v - y.watch) * left <= self.stop_tol * jnp.abs(v))
        return dataclasses.replace(y, watch=v, frozen=done)

    def rate(self, t):
        """η_t (module docs); t in sleep epochs."""
        if self.z == 1:
            return self.eta * jnp.ones_like(t)
        return ramp(t, self.eta, self.eta_max, self.ramp_tau)

    def sleep_epoch(self, y: NetworkState, t) -> NetworkState:
        y = jax.lax.cond(t == 0, lambda s: self.fall_asleep(s), lambda s: s, y)
        H = y.syn.weights @ self.X - y.theta[:, None]
        P, hbar = SoftMinReplay(self.beta)(H, y.hbar, replay=y.replay)
        eta = self.rate(t)
        y = self.replay_step(y, P, hbar, eta, eta)
        if not self.stop_every:
            return y
        check = jnp.mod(t + 1.0, self.stop_every) == 0
        return jax.lax.cond(check, lambda s: self.converge(s, t), lambda s: s, y)

    def step(self, t, y: NetworkState, key: PRNGKeyArray) -> NetworkState:
        """Epoch `t` (dt = 1): wake for t < wake_epochs, sleep after; nothing
        once frozen."""

        def live(s):
            return jax.lax.cond(
                t < self.wake_epochs,
                lambda s: self.wake_epoch(s, key),
                lambda s: self.sleep_epoch(s, t - self.wake_epochs),
                s,
            )

        return jax.lax.cond(y.frozen, lambda s: s, live, y)


class Consolidation(_Replay):
    """Supervised consolidation of Fig. 2 (module docs): hard-min until every
    unit of every pattern is right, then soft-min.

    **Fields:** `X` `(N, M)`; leaves `length` (L), `beta` (β), `eta` (η),
    `eta_theta` (η_θ); static `f`, `prune` (permanent pruning; off: a
    clipped synapse may regrow).
    """

    eta: Float[Array, ""]
    eta_theta: Float[Array, ""]
    prune: bool = eqx.field(static=True, default=True)

    def init(self, syn: FactorisedSynapses) -> NetworkState:
        """Mask, clip, scale to Σu² = zL, Gaussian thresholds, H̄ from them."""
        syn, _ = HomeostaticScaling(self.length)(self.refresh(syn).clip())
        W = syn.weights
        theta = gaussian_threshold(W, self.f)
        replay = jnp.ones(self.X.shape[1], bool)
        hbar = mean_abs_field(W, theta, self.X, replay)
        m0 = memory_margins(W, theta, self.X, self.targets)
        watch = jnp.zeros(3, W.dtype)
        return NetworkState(syn, theta, hbar, replay, W, m0, watch, jnp.array(False))

    def step(self, t, y: NetworkState, key: PRNGKeyArray) -> NetworkState:
        H = y.syn.weights @ self.X - y.theta[:, None]
        Y = self.targets
        wrong = jnp.any(Y * jnp.sign(H) < 1.0)
        soft, _ = SoftMinReplay(self.beta)(H, y.hbar)
        P = jnp.where(wrong, hard_min(H, Y), soft)
        hbar = jnp.mean(jnp.abs(H), axis=1)
        return self.replay_step(y, P, hbar, self.eta, self.eta_theta)
