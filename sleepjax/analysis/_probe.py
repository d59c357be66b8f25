r"""Linear read-outs of representations: multinomial logistic regression.

`logistic_fit` minimises, over weights $W$ `(F, K)` and intercepts $b$ `(K,)`,

$$\sum_i -\log \mathrm{softmax}(x_i W + b)_{y_i} + \frac{1}{2C}\|W\|^2
  (+\ 10^{-6}\|b\|^2),$$

(scikit-learn's `LogisticRegression(C=C)`; the tiny intercept term only
removes the softmax's shift invariance) by Newton's method with a fixed
number of steps (the problem is strictly convex; 25 steps reach machine
precision for the sizes used here). Features are standardised with the
training set's mean and standard deviation first (`StandardScaler`).
`probe_accuracy` fits on one set and returns the accuracy on another.
Everything is JAX (traceable, vmappable); the Hessian is
$(F+1)K \times (F+1)K$, so keep $F K$ in the hundreds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def standardise(train, *others):
    """Scale features to zero mean and unit variance with the training set's
    statistics (features with no variance are only centred)."""
    mean = jnp.mean(train, axis=0)
    std = jnp.std(train, axis=0)
    std = jnp.where(std > 0, std, 1.0)
    return tuple((x - mean) / std for x in (train, *others))


def logistic_fit(
    x: Float[Array, "n F"],
    y: Int[Array, " n"],
    n_classes: int,
    C=1.0,
    steps: int = 25,
):
    """`(W, b)` of the L2-regularised multinomial logistic regression (module
    docs), by `steps` Newton steps from zero."""
    n, f = x.shape
    onehot = jax.nn.one_hot(y, n_classes, dtype=x.dtype)
    xb = jnp.concatenate([x, jnp.ones((n, 1), x.dtype)], axis=1)
    reg = jnp.concatenate([jnp.full((f,), 1.0 / C), jnp.array([2e-6])]).astype(x.dtype)

    def loss(theta):
        w = theta.reshape(f + 1, n_classes)
        logits = xb @ w
        ce = -jnp.sum(onehot * jax.nn.log_softmax(logits))
        return ce + 0.5 * jnp.sum(reg[:, None] * w**2)

    def newton(theta, _):
        g = jax.grad(loss)(theta)
        h = jax.hessian(loss)(theta)
        return theta - jnp.linalg.solve(h, g), None

    theta0 = jnp.zeros(((f + 1) * n_classes,), x.dtype)
    theta, _ = jax.lax.scan(newton, theta0, None, length=steps)
    w = theta.reshape(f + 1, n_classes)
    return w[:f], w[f]


def probe_accuracy(
    x_train, y_train, x_test, y_test, n_classes: int, C=1.0, steps: int = 25
) -> Float[Array, ""]:
    """Accuracy on (`x_test`, `y_test`) of a logistic regression fitted on
    standardised (`x_train`, `y_train`) (module docs)."""
    xtr, xte = standardise(x_train, x_test)
    w, b = logistic_fit(xtr, y_train, n_classes, C, steps)
    pred = jnp.argmax(xte @ w + b, axis=1)
    return jnp.mean(pred == y_test).astype(x_train.dtype)
