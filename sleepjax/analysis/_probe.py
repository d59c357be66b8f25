r"""Read-outs of representations: multinomial logistic regression (linear)
and an RBF-kernel support vector machine (nonlinear).

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

`svm_probe_accuracy` is the nonlinear read-out that Spens & Burgess use,
scikit-learn's `SVC()` (RBF kernel, C = 1, `gamma="scale"`, one-vs-one) on
standardised features: for each pair of classes (a, b), with $s_i = +1$ for
class a, −1 for b (other items left out), the dual

$$\max_{0 \le \alpha_i \le C}\ \sum_i \alpha_i - \tfrac12 \sum_{ij}
  \alpha_i \alpha_j s_i s_j \bigl(k(x_i, x_j) + 1\bigr),\qquad
  k(x, x') = e^{-\gamma\|x - x'\|^2},\ \gamma = \frac{1}{F\,\mathrm{var}(X)},$$

is solved by accelerated projected gradient (FISTA, `iters` steps); the
decision is $\sum_i \alpha_i s_i (k(x, x_i) + 1)$ and the class with most
pairwise wins is predicted. The bias is absorbed into the kernel (the + 1),
which drops the SVM's equality constraint; on image features and on a
nonlinear toy problem its predictions agree with `SVC`'s on 97-99.7 % of
test items (tests/test_generative.py checks it when scikit-learn is
installed).
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


def svm_dual(
    K: Float[Array, "n n"], s: Float[Array, " n"], hi: Float[Array, " n"], iters: int
) -> Float[Array, " n"]:
    r"""The SVM dual $\max_{0 \le \alpha \le hi} \sum_i [s_i \ne 0]\,\alpha_i -
    \tfrac12 \alpha^\top (s s^\top \circ K) \alpha$ by `iters` steps of FISTA
    (accelerated projected gradient, step 1/λ_max) from α = 0. Labels
    $s_i = \pm 1$; items with $s_i = 0$ and $hi_i = 0$ are left out."""
    Q = s[:, None] * K * s[None, :]
    lin = jnp.abs(s)
    lip = jnp.maximum(jnp.linalg.eigvalsh(Q)[-1], 1e-12)

    def fista(carry, _):
        alpha, z, t = carry
        new = jnp.clip(z - (Q @ z - lin) / lip, 0.0, hi)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        return (new, new + (t - 1.0) / t_new * (new - alpha), t_new), None

    zero = jnp.zeros_like(s)
    init = (zero, zero, jnp.ones((), s.dtype))
    (alpha, _, _), _ = jax.lax.scan(fista, init, None, length=iters)
    return alpha


def svm_probe_accuracy(
    x_train, y_train, x_test, y_test, n_classes: int, C=1.0, iters: int = 2000
) -> Float[Array, ""]:
    """Accuracy on (`x_test`, `y_test`) of an RBF-kernel support vector
    machine (one-vs-one) fitted on standardised (`x_train`, `y_train`)
    (module docs); NaN if the solve is not finite."""
    xtr, xte = standardise(x_train, x_test)
    gamma = 1.0 / (xtr.shape[1] * jnp.maximum(jnp.var(xtr), 1e-12))

    def kernel(a, b):
        d2 = jnp.sum(a**2, 1)[:, None] + jnp.sum(b**2, 1)[None, :] - 2 * a @ b.T
        return jnp.exp(-gamma * jnp.maximum(d2, 0.0)) + 1.0

    K, K_test = kernel(xtr, xtr), kernel(xte, xtr)
    pairs = jnp.array(
        [(a, b) for a in range(n_classes) for b in range(a + 1, n_classes)]
    )

    def pair(ab):
        member = ((y_train == ab[0]) | (y_train == ab[1])).astype(xtr.dtype)
        s = jnp.where(y_train == ab[0], 1.0, -1.0) * member
        alpha = svm_dual(K, s, C * member, iters)
        win = jnp.where(K_test @ (alpha * s) > 0, ab[0], ab[1])
        return win, jnp.all(jnp.isfinite(alpha))

    wins, finite = jax.vmap(pair)(pairs)
    votes = jnp.sum(jax.nn.one_hot(wins, n_classes, dtype=xtr.dtype), axis=0)
    acc = jnp.mean(jnp.argmax(votes, axis=1) == y_test).astype(x_train.dtype)
    return jnp.where(jnp.all(finite), acc, jnp.nan)
