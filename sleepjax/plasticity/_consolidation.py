r"""Learning rules of consolidation: gated covariance Hebb, soft-min and hard-min
replay (max-margin perceptron steps), and the sleep learning-rate ramp.

Patterns are columns $x^\mu \in \{0, 1\}^N$ of `X` `(N, M)`, fields
$H = WX - \theta$ `(N, M)` (units of one weight), targets $y = \pm 1$.

- **Gated covariance Hebb** (one-shot encoding while awake): after
  presenting $x$ with k-WTA shift $d\theta$ (`sleepjax.dynamics.kwta`),
  $\Delta u^{(1)} = \eta\,|d\theta|\,(x - f)(x - f)^\top$ on factor 1 only:
  no change when the pattern already evokes exactly $fN$ active units.
- **Soft-min replay** (self-supervised consolidation): targets
  $\hat Y = \mathrm{sign}(H)$ (or given ones), weights
  $$P_{i\mu} = \frac{e^{-\beta |H_{i\mu}|/\bar H_i}\,\hat Y_{i\mu}}
  {\sum_\nu e^{-\beta |H_{i\nu}|/\bar H_i}},\qquad
  \bar H_i = \mathrm{mean}_\mu |H_{i\mu}| \text{ (of the previous step)},$$
  the weight gradient $G = P X^\top$ and the threshold step
  $\Delta\theta_i = -\eta \sum_\mu P_{i\mu}$: each neuron pushes its
  least-stable patterns away from threshold ($\beta \to \infty$: max-margin).
  Patterns outside `replay` get zero weight.
- **Hard-min** (the minover perceptron): $P_{i\mu} = y_{i\mu}$ at
  $\mu = \arg\min_\nu y_{i\nu} H_{i\nu}$, zero elsewhere.
- **Ramp:** $\eta_t = \eta_0 + (\eta_{\max} - \eta_0)(1 - e^{-t/\tau})$.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float


class GatedCovarianceHebb(eqx.Module):
    r"""$\Delta u^{(1)} = \eta\,|d\theta|\,(x - f)(x - f)^\top$ (module docs).

    **Fields:** `eta` (a leaf, per unit of field), `f` the coding level.
    """

    eta: Float[Array, ""]
    f: Float[Array, ""]

    def __call__(self, x: Float[Array, " N"], dtheta) -> Float[Array, "N N"]:
        c = x - self.f
        return (self.eta * jnp.abs(dtheta)) * jnp.outer(c, c)


def _masked_mean_abs(H, replay):
    if replay is None:
        return jnp.mean(jnp.abs(H), axis=1)
    m = replay.astype(H.dtype)
    return jnp.sum(jnp.abs(H) * m, axis=1) / jnp.maximum(jnp.sum(m), 1.0)


class SoftMinReplay(eqx.Module):
    r"""Soft-min weights $P$ of the patterns (module docs), computed as a
    softmax over patterns (stable for any β).

    **Fields:** `beta` β (a leaf, dimensionless: fields are divided by their
    mean magnitude $\bar H_i$).
    """

    beta: Float[Array, ""]

    def __call__(
        self,
        H: Float[Array, "N M"],
        hbar: Float[Array, " N"],
        targets: Float[Array, "N M"] | None = None,
        replay: Bool[Array, " M"] | None = None,
    ) -> tuple[Float[Array, "N M"], Float[Array, " N"]]:
        """`(P, hbar_new)`: the weights from the previous mean |H| `hbar`, and
        this step's mean |H| over the replayed patterns."""
        y = jnp.sign(H) if targets is None else targets
        logit = -self.beta * jnp.abs(H) / hbar[:, None]
        if replay is not None:
            logit = jnp.where(replay[None, :], logit, -jnp.inf)
        top = jnp.max(logit, axis=1, keepdims=True)
        top = jnp.where(jnp.isfinite(top), top, 0.0)
        e = jnp.exp(logit - top)
        den = jnp.sum(e, axis=1, keepdims=True)
        P = e * y / jnp.where(den > 0, den, 1.0)
        return P, _masked_mean_abs(H, replay)


def hard_min(H: Float[Array, "N M"], targets: Float[Array, "N M"]) -> Array:
    r"""Minover weights: $P_{i\mu} = y_{i\mu}$ at the least stable pattern
    $\arg\min_\nu y_{i\nu}H_{i\nu}$ of each neuron, 0 elsewhere."""
    worst = jnp.argmin(targets * H, axis=1)
    onehot = jnp.arange(H.shape[1])[None, :] == worst[:, None]
    return jnp.where(onehot, targets, 0.0).astype(H.dtype)


def replay_gradient(P: Float[Array, "N M"], X: Float[Array, "N M"]) -> Array:
    r"""$G = P X^\top$: the weight gradient of the replay weights `P`."""
    return P @ X.T


def ramp(t, eta0, eta_max, tau):
    r"""$\eta_t = \eta_0 + (\eta_{\max} - \eta_0)(1 - e^{-t/\tau})$ (t in
    epochs, τ in epochs)."""
    return eta0 + (eta_max - eta0) * (1.0 - jnp.exp(-t / tau))
