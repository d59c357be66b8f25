r"""Layers for small convolutional networks on batches of images (channels
last, `(B, H, W, C)`), as equinox modules.

Batch normalisation keeps its running statistics *outside* the module (a
`BNStats` per layer), so the module's arrays are exactly its trainable
parameters: `__call__(x, stats=None)` normalises with the batch's own
statistics and returns them (training), or with given running statistics
(evaluation). `update_stats` folds a batch's statistics into running ones,
$s \leftarrow m\,s + (1 - m)\,s_\mathrm{batch}$ (Keras: $m = 0.99$).

Initialisation: Glorot-uniform kernels, zero biases (Keras defaults), or
$\mathcal N(0, \sigma^2)$ kernels with `init_std` $= \sigma$ (DCGAN: 0.02).

Convolutions are computed as patches × kernel matrix products (im2col):
XLA's CPU convolution (its weight gradient in particular) runs 20-30× slower
inside a loop body (jax-ml/jax#12868), and training runs inside `lax.scan`.
The products are exact rearrangements of the same sums.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

Batch = Float[Array, "B H W C"]


def _kernel(key, shape, fan_in, fan_out, init_std):
    if init_std is not None:
        return init_std * jr.normal(key, shape)
    limit = jnp.sqrt(6.0 / (fan_in + fan_out))
    return jr.uniform(key, shape, minval=-limit, maxval=limit)


def patches(x: Batch, k: int, stride: int) -> Float[Array, "B Ho Wo kkC"]:
    r"""The `k`×`k` patches of `x` at stride `stride` (no padding), flattened
    in (row, column, channel) order: `(B, Ho, Wo, k·k·C)`,
    $H_o = \lfloor (H - k)/s\rfloor + 1$."""
    _, h, w, _ = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    cols = [
        x[
            :,
            i : i + stride * (ho - 1) + 1 : stride,
            j : j + stride * (wo - 1) + 1 : stride,
        ]
        for i in range(k)
        for j in range(k)
    ]
    return jnp.concatenate(cols, axis=-1)


def _same_pad(n: int, k: int, stride: int) -> tuple[int, int]:
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def conv2d(x: Batch, weight, stride: int = 1, padding: str = "VALID") -> Batch:
    """Cross-correlation of `x` `(B, H, W, C_in)` with `weight`
    `(k, k, C_in, C_out)` (as `lax.conv_general_dilated` with NHWC/HWIO)."""
    k = weight.shape[0]
    if padding == "SAME":
        ph = _same_pad(x.shape[1], k, stride)
        pw = _same_pad(x.shape[2], k, stride)
        x = jnp.pad(x, ((0, 0), ph, pw, (0, 0)))
    elif padding != "VALID":
        raise ValueError(f"`padding` must be 'VALID' or 'SAME', got {padding!r}.")
    return patches(x, k, stride) @ weight.reshape(-1, weight.shape[-1]).astype(x.dtype)


class Conv(eqx.Module):
    """2-D convolution, kernel `(k, k, C_in, C_out)`, stride `stride`,
    padding "VALID" or "SAME", plus a bias."""

    weight: Float[Array, "k k cin cout"]
    bias: Float[Array, " cout"]
    stride: int = eqx.field(static=True)
    padding: str = eqx.field(static=True)

    def __init__(self, key, cin, cout, k, stride=1, padding="VALID", init_std=None):
        self.weight = _kernel(
            key, (k, k, cin, cout), k * k * cin, k * k * cout, init_std
        )
        self.bias = jnp.zeros((cout,))
        self.stride, self.padding = stride, padding

    def __call__(self, x: Batch) -> Batch:
        y = conv2d(x, self.weight, self.stride, self.padding)
        return y + self.bias.astype(x.dtype)


class ConvTranspose(eqx.Module):
    """Transposed 2-D convolution (the gradient of a strided convolution):
    output side $(n - 1)s + k - 2p$ for input side $n$, stride $s$, kernel $k$
    and padding $p$ (PyTorch's `ConvTranspose2d`)."""

    weight: Float[Array, "k k cin cout"]
    bias: Float[Array, " cout"]
    stride: int = eqx.field(static=True)
    pad: int = eqx.field(static=True)

    def __init__(self, key, cin, cout, k, stride=1, pad=0, init_std=None):
        self.weight = _kernel(
            key, (k, k, cin, cout), k * k * cin, k * k * cout, init_std
        )
        self.bias = jnp.zeros((cout,))
        self.stride, self.pad = stride, pad

    def __call__(self, x: Batch) -> Batch:
        k, s = self.weight.shape[0], self.stride
        if s > 1 and k % s == 0:
            y = _transpose_by_phases(x, self.weight.astype(x.dtype), s, self.pad)
            return y + self.bias.astype(x.dtype)
        p = k - 1 - self.pad
        b, h, w, c = x.shape
        if s > 1:  # insert s - 1 zeros between inputs
            z = jnp.zeros((b, (h - 1) * s + 1, (w - 1) * s + 1, c), x.dtype)
            x = z.at[:, ::s, ::s].set(x)
        x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        y = conv2d(x, jnp.flip(self.weight, (0, 1)), 1, "VALID")
        return y + self.bias.astype(x.dtype)


def _transpose_by_phases(x: Batch, weight, s: int, pad: int) -> Batch:
    r"""Transposed convolution with kernel side $k = Ts$ split into its $s^2$
    output phases, without the zeros a strided input would get inserted.

    In 1-D, with $q = y + p = ms + r$ ($0 \le r < s$), output $y$ is
    $\sum_{j<T} x[m - j]\,W[js + r]$: for each phase $r$ a stride-1
    correlation of $x$ (padded by $T - 1$) with the $T$ taps
    $W[(T-1-u)s + r]$. All phases come from one product of $T\times T$
    patches with a $(T^2 C_\text{in}, s^2 C_\text{out})$ matrix; they are
    interleaved and the result cropped by $p$ on each side. About $s^2$ times
    fewer products than correlating the zero-filled input."""
    k, _, cin, cout = weight.shape
    t = k // s
    b, h, w, _ = x.shape
    x = jnp.pad(x, ((0, 0), (t - 1, t - 1), (t - 1, t - 1), (0, 0)))
    mh, mw = h + t - 1, w + t - 1
    taps = weight.reshape(t, s, t, s, cin, cout)[::-1, :, ::-1]
    taps = taps.transpose(0, 2, 4, 1, 3, 5).reshape(t * t * cin, s * s * cout)
    y = (patches(x, t, 1) @ taps).reshape(b, mh, mw, s, s, cout)
    y = y.transpose(0, 1, 3, 2, 4, 5).reshape(b, mh * s, mw * s, cout)
    return y[:, pad : mh * s - pad, pad : mw * s - pad]


class Dense(eqx.Module):
    """$y = x W + b$ on the last axis."""

    weight: Float[Array, "cin cout"]
    bias: Float[Array, " cout"]

    def __init__(self, key, cin, cout, init_std=None):
        self.weight = _kernel(key, (cin, cout), cin, cout, init_std)
        self.bias = jnp.zeros((cout,))

    def __call__(self, x):
        return x @ self.weight.astype(x.dtype) + self.bias.astype(x.dtype)


class BNStats(eqx.Module):
    """Running mean and variance of one batch-normalisation layer `(C,)`."""

    mean: Float[Array, " C"]
    var: Float[Array, " C"]


class BatchNorm(eqx.Module):
    r"""$y = \gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta$ per channel
    (last axis), over all other axes; ε = 1e-3 (Keras)."""

    gamma: Float[Array, " C"]
    beta: Float[Array, " C"]
    eps: float = eqx.field(static=True, default=1e-3)

    def __init__(self, c: int, eps: float = 1e-3):
        self.gamma = jnp.ones((c,))
        self.beta = jnp.zeros((c,))
        self.eps = eps

    def init_stats(self) -> BNStats:
        return BNStats(jnp.zeros_like(self.gamma), jnp.ones_like(self.gamma))

    def __call__(self, x, stats: BNStats | None = None):
        """`(y, batch_stats)`: batch statistics when `stats` is None (and they
        are returned), else the given running statistics (returned as is)."""
        axes = tuple(range(x.ndim - 1))
        if stats is None:
            stats = BNStats(jnp.mean(x, axes), jnp.var(x, axes))
        y = (x - stats.mean) * jax.lax.rsqrt(stats.var + self.eps)
        return y * self.gamma + self.beta, stats


def update_stats(running, batch, momentum):
    """$s \\leftarrow m\\,s + (1 - m)\\,s_\\mathrm{batch}$ on every leaf (batch
    statistics enter without gradient)."""
    return jax.tree_util.tree_map(
        lambda r, b: momentum * r + (1.0 - momentum) * jax.lax.stop_gradient(b),
        running,
        batch,
    )


def leaky_relu(x, alpha: float = 0.3):
    """max(x, αx) (Keras's default α = 0.3; DCGAN uses 0.2)."""
    return jnp.where(x >= 0, x, alpha * x)


def upsample(x: Batch, factor: int = 2) -> Batch:
    """Nearest-neighbour upsampling of the spatial axes."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def dropout(key: PRNGKeyArray | None, x, rate):
    """Inverted dropout: zero each element with probability `rate` and scale the
    rest by 1/(1 - rate); identity when `key` is None (evaluation)."""
    if key is None:
        return x
    keep = jr.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)
