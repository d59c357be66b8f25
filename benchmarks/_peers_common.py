r"""What every peer of `benchmarks/peers.py` shares, importable with NumPy alone.

The peers that cannot live in sleepjax's environment (Brian2, BrainPy,
torchsde) run in their own virtual environments (`benchmarks/.venvs/<name>`),
each driven through `benchmarks/_peers_worker.py`; this module is what they
and the main process have in common: the workload's constants, the shared
initial condition, the final-state statistics and the gradient workload's
setting.

Workload (SPEC §1; the same equations as `benchmarks/_baselines.py`): for B
independent networks of N neurons,

.. math::

    \dot x = -x + W\phi,\quad \dot y = (\phi - y)/\tau_y,\quad
    \dot{\bar x} = (x - \bar x)/\tau_x,\\
    \mathrm dW = \eta\bigl(\phi y^\top - y\phi^\top + bI
        - \tanh(x - \bar x)\phi^\top\bigr)\mathrm dt
        + \eta\sigma\,\mathrm d\mathcal B_t,

with :math:`\phi = \tanh x`, :math:`\tau_y = 50`, :math:`\tau_x = 20`,
:math:`\eta = 0.01`, :math:`b = 0.5`, :math:`\sigma^2 = 1/N`, Euler–Maruyama
with :math:`\Delta t = 0.1` (time in the model's units), float32.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

DT = 0.1
ETA = 0.01
B_DECOR = 0.5
TAU_X = 20.0
TAU_Y = 50.0
W_SCALE = 2.0

# Gradient workload: 10³ noisy steps from a non-chaotic start (W0 scale 0.5:
# at the default scale 2 the rate network is chaotic and d(loss)/d(b) through
# 100 time units is dominated by exponentially growing sensitivities, which
# finite differences cannot check). Loss: mean(W_T²) + mean(x_T²), gradient
# with respect to the decorrelation constant b.
GRAD_STEPS = 1000
GRAD_W_SCALE = 0.5
GRAD_FD_H = 0.01


def sigma(n: int) -> float:
    r""":math:`\sigma = 1/\sqrt N`."""
    return 1.0 / math.sqrt(n)


def noise_scale(n: int) -> float:
    r"""Per-step standard deviation of a weight increment, :math:`\eta\sigma
    \sqrt{\Delta t}`."""
    return ETA * sigma(n) * math.sqrt(DT)


def initial_state(
    n: int, batch: int, seed: int, same_init: bool = False, w_scale: float = W_SCALE
):
    """`(x0, y0, xbar0, W0)`, float32, exactly as `_baselines.initial_state`:
    `x0 ~ N(0, 1)`, `W0 = w_scale·randn/√N`, `y0 = x̄0 = 0`, drawn from
    `default_rng((seed, 0))`; `same_init`: every network starts as the first."""
    rng = np.random.default_rng((seed, 0))
    nb = 1 if same_init else batch
    x0 = rng.standard_normal((nb, n), dtype=np.float32)
    w0 = rng.standard_normal((nb, n, n), dtype=np.float32)
    w0 *= np.float32(w_scale / np.sqrt(n))
    if same_init:
        x0 = np.repeat(x0, batch, axis=0)
        w0 = np.repeat(w0, batch, axis=0)
    zeros = np.zeros((batch, n), np.float32)
    return x0, zeros, zeros.copy(), w0


@dataclass(frozen=True)
class WStats:
    r"""Final-state statistics of a batch, each the mean over networks of a
    per-network value, with its standard error (sd across networks / √B).

    - `w_mean`, `w_var`: mean and variance of the entries of W;
    - `eig_re`: the spectral abscissa, max Re λ(W) (the rightmost eigenvalue,
      which carries the memory in Susman et al.);
    - `w_spread`: variance of each entry *across networks*, averaged over
      entries (from a batch that started identically it is the weight noise's
      doing, ≈ η²σ²T for pure diffusion); its SE treats entries as independent.
    """

    w_mean: float
    w_mean_se: float
    w_var: float
    w_var_se: float
    eig_re: float
    eig_re_se: float
    w_spread: float
    w_spread_se: float
    finite: bool

    def asdict(self) -> dict:
        return asdict(self)


def w_stats(x: np.ndarray, w: np.ndarray) -> WStats:
    """`WStats` of final states `x` (B, N) and `W` (B, N, N)."""
    w = np.asarray(w, np.float64)
    nb = w.shape[0]
    flat = w.reshape(nb, -1)
    finite = bool(np.isfinite(w).all() and np.isfinite(np.asarray(x)).all())
    if not finite:
        nan = float("nan")
        return WStats(nan, nan, nan, nan, nan, nan, nan, nan, False)
    eig = np.array([np.linalg.eigvals(a).real.max() for a in w])

    def m(a):
        return float(a.mean()), float(a.std(ddof=1) / np.sqrt(nb))

    s = flat.var(0, ddof=1)
    return WStats(
        *m(flat.mean(1)),
        *m(flat.var(1)),
        *m(eig),
        float(s.mean()),
        float(s.std(ddof=1) / np.sqrt(s.size)),
        finite,
    )


def z_scores(a: dict, b: dict) -> dict[str, float]:
    """(a − b) / √(se_a² + se_b²) for each statistic of two `WStats` dicts."""
    out = {}
    for k in ("w_mean", "w_var", "eig_re", "w_spread"):
        se = math.hypot(a[k + "_se"], b[k + "_se"])
        out[k] = (a[k] - b[k]) / se if se > 0 else float("inf")
    return out


def grad_loss_np(x: np.ndarray, w: np.ndarray) -> float:
    """The gradient workload's loss, mean(W_T²) + mean(x_T²) (NumPy)."""
    return float(np.mean(np.square(w)) + np.mean(np.square(x)))
