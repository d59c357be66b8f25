r"""Linear read-outs of representations: multinomial logistic regression.

`logistic_fit` minimises, over weights $W$ `(F, K)` and intercepts $b$ `(K,)`,

$$\sum_i -\log \mathrm{softmax}(x_i W + b)_{y_i} + \frac{1}{2C}\|W\|^2$$

(scikit-learn's `LogisticRegression(C=C)`, intercepts unpenalised) by
Newton's method with a fixed number of steps. The loss does not change when
the same number is added to every intercept, so $b$ is fixed by
$\sum_k b_k = 0$: Newton runs with $b_K = 0$, where the problem is strictly
convex and its Hessian well conditioned, and $b$ is centred afterwards
(predictions are unchanged). A tiny intercept penalty instead would leave
the Hessian an eigenvalue far below float32 resolution, and the solve
returns NaN. 25 steps reach machine precision for the sizes used here.
Features are standardised with the training set's mean and standard
deviation first (`StandardScaler`).
`probe_accuracy` fits on one set and returns the accuracy on another.
Everything is JAX (traceable, vmappable); the Hessian is
$(FK + K - 1)^2$, so keep $F K$ in the hundreds.
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
    docs; $\\sum_k b_k = 0$), by `steps` Newton steps from zero."""
    n, f = x.shape
    k = n_classes
    onehot = jax.nn.one_hot(y, k, dtype=x.dtype)

    def unpack(theta):
        w = theta[: f * k].reshape(f, k)
        b = jnp.concatenate([theta[f * k :], jnp.zeros((1,), theta.dtype)])
        return w, b

    def loss(theta):
        w, b = unpack(theta)
        ce = -jnp.sum(onehot * jax.nn.log_softmax(x @ w + b))
        return ce + 0.5 / C * jnp.sum(w**2)

    def newton(theta, _):
        g = jax.grad(loss)(theta)
        h = jax.hessian(loss)(theta)
        return theta - jnp.linalg.solve(h, g), None

    theta0 = jnp.zeros((f * k + k - 1,), x.dtype)
    theta, _ = jax.lax.scan(newton, theta0, None, length=steps)
    w, b = unpack(theta)
    return w, b - jnp.mean(b)


def probe_accuracy(
    x_train, y_train, x_test, y_test, n_classes: int, C=1.0, steps: int = 25
) -> Float[Array, ""]:
    """Accuracy on (`x_test`, `y_test`) of a logistic regression fitted on
    standardised (`x_train`, `y_train`) (module docs); NaN if the fit is not
    finite."""
    xtr, xte = standardise(x_train, x_test)
    w, b = logistic_fit(xtr, y_train, n_classes, C, steps)
    pred = jnp.argmax(xte @ w + b, axis=1)
    acc = jnp.mean(pred == y_test).astype(x_train.dtype)
    # a failed fit must not pass for a chance-level read-out
    finite = jnp.all(jnp.isfinite(w)) & jnp.all(jnp.isfinite(b))
    return jnp.where(finite, acc, jnp.nan)
