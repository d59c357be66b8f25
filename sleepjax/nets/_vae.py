r"""A convolutional variational autoencoder (Spens & Burgess 2024's cortex).

Encoder: dropout (rate $p$, training only) → $L$ × [conv $4\times4$, stride 2,
no padding → batch norm → LeakyReLU(0.3)] → global average pool → two dense
heads, $\mu$ and $\log\sigma^2$ (latent size $K$). Decoder: dense
$K \to 4\cdot4\cdot C_L$ → reshape → $(L-1)$ × [upsample ×2 → conv $3\times3$
"same" → batch norm → LeakyReLU] → upsample ×2 → conv $3\times3$ to 3
channels → sigmoid. With $L = \log_2(\text{size}/4)$ the output has the input's
size.

- `ConvVAE.spens_burgess(key)`: 64×64, channels 32/64/128/256, $K = 20$
  (SPEC §4; decoder dense 4096 → 4×4×256, convs 128/64/32/3).
- `ConvVAE.small(key)`: 32×32, channels 16/32/64, $K = 20$ (the reduced
  variant that trains on a CPU in minutes).

Loss per batch (SPEC): $\mathcal L = \big\langle \sum_{h,w} \tfrac13\sum_c
|x - \hat x| \big\rangle_\text{batch} + w_\mathrm{KL}\big\langle -\tfrac12
\sum_k (1 + \log\sigma_k^2 - \mu_k^2 - \sigma_k^2)\big\rangle_\text{batch}$,
with $\hat x$ decoded from $z = \mu + \sigma\epsilon$, $\epsilon \sim
\mathcal N(0, I)$. Images `(B, H, W, 3)` in [0, 1].
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from ._layers import (
    BatchNorm,
    BNStats,
    Conv,
    Dense,
    dropout,
    leaky_relu,
    update_stats,
    upsample,
)
from ._train import AbstractObjective

Images = Float[Array, "B H W 3"]
Latents = Float[Array, "B K"]


class VAEStats(eqx.Module):
    """Running batch-norm statistics of a `ConvVAE` (encoder, decoder)."""

    encoder: tuple[BNStats, ...]
    decoder: tuple[BNStats, ...]


class ConvVAE(eqx.Module):
    """The VAE's trainable parameters and structure (see the module docs)."""

    enc_convs: tuple[Conv, ...]
    enc_norms: tuple[BatchNorm, ...]
    mean_head: Dense
    logvar_head: Dense
    dec_dense: Dense
    dec_convs: tuple[Conv, ...]
    dec_norms: tuple[BatchNorm, ...]
    out_conv: Conv
    size: int = eqx.field(static=True)
    channels: tuple[int, ...] = eqx.field(static=True)
    latent: int = eqx.field(static=True)

    def __init__(self, key: PRNGKeyArray, size: int, channels, latent: int = 20):
        channels = tuple(int(c) for c in channels)
        n = round(math.log2(size / 4))
        if size < 8 or 4 * 2**n != size or len(channels) != n:
            raise ValueError(
                f"a ConvVAE of size {size} needs size = 4·2^L and L = "
                f"log2(size/4) channel counts; got {len(channels)}: {channels}."
            )
        keys = iter(jr.split(key, 2 * n + 4))
        cin = 3
        convs = []
        for c in channels:
            convs.append(Conv(next(keys), cin, c, 4, stride=2))
            cin = c
        self.enc_convs = tuple(convs)
        self.enc_norms = tuple(BatchNorm(c) for c in channels)
        self.mean_head = Dense(next(keys), channels[-1], latent)
        self.logvar_head = Dense(next(keys), channels[-1], latent)
        self.dec_dense = Dense(next(keys), latent, 16 * channels[-1])
        dec = list(reversed(channels[:-1]))
        convs, cin = [], channels[-1]
        for c in dec:
            convs.append(Conv(next(keys), cin, c, 3, padding="SAME"))
            cin = c
        self.dec_convs = tuple(convs)
        self.dec_norms = tuple(BatchNorm(c) for c in dec)
        self.out_conv = Conv(next(keys), cin, 3, 3, padding="SAME")
        self.size, self.channels, self.latent = size, channels, latent

    @classmethod
    def spens_burgess(cls, key: PRNGKeyArray, latent: int = 20) -> ConvVAE:
        """SPEC §4: 64×64, channels 32/64/128/256, latent 20."""
        return cls(key, 64, (32, 64, 128, 256), latent)

    @classmethod
    def small(cls, key: PRNGKeyArray, latent: int = 20) -> ConvVAE:
        """The reduced 32×32 variant: channels 16/32/64, latent 20."""
        return cls(key, 32, (16, 32, 64), latent)

    def init_stats(self) -> VAEStats:
        """Running statistics at their initial values (mean 0, variance 1)."""
        return VAEStats(
            tuple(bn.init_stats() for bn in self.enc_norms),
            tuple(bn.init_stats() for bn in self.dec_norms),
        )

    def encode(self, x: Images, stats=None, key=None, drop=0.2):
        """`((mu, logvar), batch_stats)`. Training (`stats` None): batch
        statistics, and input dropout with rate `drop` when `key` is given.
        Evaluation: the running `stats` (a tuple per layer), no dropout."""
        h = dropout(key, x, drop)
        used = []
        for i, (conv, bn) in enumerate(
            zip(self.enc_convs, self.enc_norms, strict=True)
        ):
            h, s = bn(conv(h), None if stats is None else stats[i])
            used.append(s)
            h = leaky_relu(h)
        h = jnp.mean(h, axis=(1, 2))
        return (self.mean_head(h), self.logvar_head(h)), tuple(used)

    def decode(self, z: Latents, stats=None):
        """`(x_hat, batch_stats)`: images in (0, 1) from latents."""
        h = self.dec_dense(z).reshape(z.shape[0], 4, 4, self.channels[-1])
        used = []
        for i, (conv, bn) in enumerate(
            zip(self.dec_convs, self.dec_norms, strict=True)
        ):
            h, s = bn(conv(upsample(h)), None if stats is None else stats[i])
            used.append(s)
            h = leaky_relu(h)
        return jax.nn.sigmoid(self.out_conv(upsample(h))), tuple(used)

    def loss(self, x: Images, key: PRNGKeyArray, kl_weight=1.0, drop=0.2):
        """Training loss `(total, (recon, kl, batch_stats))` of a batch (module
        docs): dropout and sampling from `key`, batch statistics."""
        k_drop, k_eps = jr.split(key)
        (mu, logvar), s_enc = self.encode(x, None, k_drop, drop)
        z = mu + jnp.exp(0.5 * logvar) * jr.normal(k_eps, mu.shape, mu.dtype)
        x_hat, s_dec = self.decode(z)
        recon = jnp.mean(jnp.sum(jnp.mean(jnp.abs(x - x_hat), axis=-1), axis=(1, 2)))
        kl = kl_divergence(mu, logvar)
        return recon + kl_weight * kl, (recon, kl, VAEStats(s_enc, s_dec))

    def means(self, x: Images, stats: VAEStats) -> Latents:
        """Latent means μ(x) in evaluation mode (running statistics)."""
        return self.encode(x, stats.encoder)[0][0]

    def reconstruct(self, x: Images, stats: VAEStats) -> Images:
        """Decode the latent means (evaluation mode)."""
        return self.decode(self.means(x, stats), stats.decoder)[0]


def kl_divergence(mu: Latents, logvar: Latents):
    r"""$\langle -\tfrac12\sum_k(1 + \log\sigma^2_k - \mu_k^2 - \sigma_k^2)
    \rangle_\text{batch}$: KL from $\mathcal N(\mu, \sigma^2)$ to $\mathcal N(0,
    I)$ summed over the latent, averaged over the batch."""
    return jnp.mean(-0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar), axis=-1))


class VAEObjective(AbstractObjective):
    """Train a `ConvVAE` with Adam (AMSGrad variant, as Spens & Burgess's
    Keras `Adam(amsgrad=True)`, ε = 1e-7) on its loss; batch-norm running
    statistics follow each batch with momentum `momentum`.

    **Fields (leaves):** `lr` (learning rate, 1e-3), `kl_weight` (1),
    `drop` (input dropout rate, 0.2), `momentum` (0.99).
    """

    lr: Float[Array, ""]
    kl_weight: Float[Array, ""]
    drop: Float[Array, ""]
    momentum: Float[Array, ""]

    def __init__(self, lr=1e-3, kl_weight=1.0, drop=0.2, momentum=0.99):
        self.lr, self.kl_weight = jnp.asarray(lr), jnp.asarray(kl_weight)
        self.drop, self.momentum = jnp.asarray(drop), jnp.asarray(momentum)

    def _opt(self):
        return optax.amsgrad(self.lr, eps=1e-7)

    def init(self, params):
        return self._opt().init(params)

    def grads(self, params: ConvVAE, batch: Images, key: PRNGKeyArray):
        """`((loss, (recon, kl, batch_stats)), gradient)` of one batch."""

        def f(m):
            return m.loss(batch, key, self.kl_weight, self.drop)

        return jax.value_and_grad(f, has_aux=True)(params)

    def update(self, params, stats, opt_state, batch, key):
        (loss, (_, _, batch_stats)), g = self.grads(params, batch, key)
        updates, opt_state = self._opt().update(g, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, update_stats(stats, batch_stats, self.momentum), opt_state, loss
