r"""Perturbed and adversarial dreaming (Deperrois et al. 2022, eLife).

Networks (DCGAN-style, 32×32 images in [−1, 1], filter factor $w$, latent
$K$, LeakyReLU(0.2), zero biases):

- `DreamEncoder` (their "discriminator"): 3 × [conv 4×4, stride 2, pad 1]
  with $w, 2w, 4w$ filters (32 → 16 → 8 → 4), then two heads on the
  4×4×4w features: the latent $z$ (K) and the real/dream logit $d$.
- `DreamGenerator`: dense $K \to 4\cdot4\cdot4w$ → 3 × transposed conv 4×4,
  stride 2, pad 1 ($2w, w, 3$; 4 → 8 → 16 → 32) → tanh.

One mini-batch of `DreamingObjective.update` runs the phases in order, each
followed by its Adam steps (lr, β₁; β₂ = 0.999):

- **Wake**: $z = E(x)$; loss $[\text{rem}]\,\mathrm{BCE}(d(x), 1) +
  \mathrm{KL}(z) + [\text{wake}]\,\|G(z + \epsilon\eta) - x\|^2$ (means;
  $\mathrm{KL}$ is their batch regulariser $\langle (s^2 + m^2)/2 - \log s -
  1/2\rangle$ over latent units with batch mean $m$ and std $s$); updates E
  and G.
- **NREM** (perturbed dreaming): $z = E(x)$ and the dream $G(z)$ are held
  fixed; the dream is occluded by tiles (side uniform in 1..8, each hidden
  with a probability drawn uniformly in [0, 1)); loss $\|E(\tilde G) -
  z\|^2$; updates E only.
- **REM** (adversarial dreaming): $z = \tfrac{1-a}{2}(z_\text{now} +
  z_\text{prev}) + a\,\eta$ ($z_\text{prev}$: the previous batch's latents;
  $a = 0.5$); loss $\mathrm{BCE}(d(G(z)), 0)$; E descends it, G ascends it
  (gradient reversal); updates both.

Kernels are drawn from $\mathcal N(0, \sigma^2)$ with PAD's $\sigma = 0.02$ at
their size ($w = 64$, $K = 256$), and at other sizes with $\sigma = 0.02
\sqrt{f_{64,256}/f_{w,K}}$, $f$ the layer's fan-in: every layer then
multiplies the variance of its input by the same factor as in PAD (the
first convolution keeps 0.02; the others scale by $\sqrt{64/w}$, the
generator's dense layer by $\sqrt{256/K}$). With 0.02 everywhere a
narrow network starts with latents ~$10^{-3}$, and the latent regulariser's
$-\log s$ then dominates training for hundreds of steps.

**Nights.** With a `night` (a `sleepjax.sleep.Hypnogram` in epochs), a
mini-batch at time $t$ runs only the phase of the stage $s(t)$: wake in
WAKE, NREM in N2 and N3, REM in REM, none in N1; the other phases leave
the networks and optimiser states bitwise unchanged. Without one, every
mini-batch runs all phases in turn, as PAD does.

A phase that is off contributes nothing: `phase_gradients` returns zeros for
it, so the gradient pytree shows which parameters each phase trains (the
real/dream head only with REM; the generator never in NREM).
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from ..data.corrupt import occlude_tiles
from ..sleep._hypnogram import N2, N3, REM, WAKE, Hypnogram
from ._layers import Conv, ConvTranspose, Dense, leaky_relu
from ._train import AbstractObjective

STD = 0.02
PAD_WIDTH, PAD_LATENT = 64, 256


def _std(fan_in_pad: int, fan_in: int) -> float:
    """PAD's kernel scale carried to another fan-in at the same gain."""
    return STD * math.sqrt(fan_in_pad / fan_in)


class DreamEncoder(eqx.Module):
    """Encoder with a real/dream head (module docs)."""

    convs: tuple[Conv, ...]
    latent_head: Dense
    real_head: Dense

    def __init__(self, key, width: int = 64, latent: int = 256):
        k = jr.split(key, 5)
        chans = (3, width, 2 * width, 4 * width)
        pad = (3, PAD_WIDTH, 2 * PAD_WIDTH, 4 * PAD_WIDTH)
        self.convs = tuple(
            Conv(
                k[i],
                chans[i],
                chans[i + 1],
                4,
                2,
                "SAME",
                init_std=_std(pad[i], chans[i]),
            )
            for i in range(3)
        )
        head = _std(pad[3], chans[3])
        self.latent_head = Dense(k[3], 16 * 4 * width, latent, init_std=head)
        self.real_head = Dense(k[4], 16 * 4 * width, 1, init_std=head)

    def features(self, x):
        for conv in self.convs:
            x = leaky_relu(conv(x), 0.2)
        return x.reshape(x.shape[0], -1)

    def __call__(self, x):
        """`(z, d)`: latents `(B, K)` and real/dream logits `(B,)`."""
        h = self.features(x)
        return self.latent_head(h), self.real_head(h)[:, 0]


class DreamGenerator(eqx.Module):
    """Generator (module docs)."""

    dense: Dense
    tconvs: tuple[ConvTranspose, ...]
    width: int = eqx.field(static=True)

    def __init__(self, key, width: int = 64, latent: int = 256):
        k = jr.split(key, 4)
        self.dense = Dense(
            k[0], latent, 16 * 4 * width, init_std=_std(PAD_LATENT, latent)
        )
        chans = (4 * width, 2 * width, width, 3)
        std = _std(PAD_WIDTH, width)
        self.tconvs = tuple(
            ConvTranspose(k[i + 1], chans[i], chans[i + 1], 4, 2, 1, init_std=std)
            for i in range(3)
        )
        self.width = width

    def __call__(self, z):
        h = leaky_relu(self.dense(z), 0.2).reshape(z.shape[0], 4, 4, 4 * self.width)
        for i, t in enumerate(self.tconvs):
            h = t(h)
            h = jnp.tanh(h) if i == len(self.tconvs) - 1 else leaky_relu(h, 0.2)
        return h


def latent_kl(z: Float[Array, "B K"]):
    r"""$\langle (s^2 + m^2)/2 - \log s - 1/2 \rangle_k$ with the batch mean $m_k$
    and standard deviation $s_k$ (Bessel-corrected) of each latent unit."""
    m = jnp.mean(z, axis=0)
    s = jnp.std(z, axis=0, ddof=1)
    return jnp.mean((s**2 + m**2) / 2 - jnp.log(s) - 0.5)


def _bce(logits, target):
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, target))


def _zeros(tree):
    return jax.tree_util.tree_map(jnp.zeros_like, tree)


class DreamMemory(eqx.Module):
    """The previous batch's latents (REM mixes them in) and whether there is one."""

    z: Float[Array, "B K"]
    seen: Array


class DreamingObjective(AbstractObjective):
    """Wake / NREM / REM training of `(DreamEncoder, DreamGenerator)` (module
    docs). Phases are static switches; numbers are leaves: `lr`, `beta1`,
    `rem_noise` (a), `wake_noise` (ε)."""

    lr: Float[Array, ""]
    beta1: Float[Array, ""]
    rem_noise: Float[Array, ""]
    wake_noise: Float[Array, ""]
    wake: bool = eqx.field(static=True)
    nrem: bool = eqx.field(static=True)
    rem: bool = eqx.field(static=True)
    night: Hypnogram | None = None

    #: the stages in which each phase runs when there is a night
    STAGES: ClassVar[dict[str, tuple[int, ...]]] = {
        "wake": (WAKE,),
        "nrem": (N2, N3),
        "rem": (REM,),
    }

    def __init__(
        self,
        lr=2e-4,
        beta1=0.5,
        rem_noise=0.5,
        wake_noise=0.0,
        *,
        wake,
        nrem,
        rem,
        night: Hypnogram | None = None,
    ):
        self.lr, self.beta1 = jnp.asarray(lr), jnp.asarray(beta1)
        self.rem_noise, self.wake_noise = (
            jnp.asarray(rem_noise),
            jnp.asarray(wake_noise),
        )
        self.wake, self.nrem, self.rem = bool(wake), bool(nrem), bool(rem)
        if night is not None and not isinstance(night, Hypnogram):
            raise TypeError(
                f"DreamingObjective: `night` must be a Hypnogram, got "
                f"{type(night).__name__}."
            )
        self.night = night

    def _opt(self):
        return optax.adam(self.lr, b1=self.beta1, b2=0.999)

    def init(self, params):
        return tuple(self._opt().init(p) for p in params)

    def init_memory(self, batch: int, latent: int, dtype=jnp.float32) -> DreamMemory:
        return DreamMemory(jnp.zeros((batch, latent), dtype), jnp.array(False))

    # ------------------------------------------------------------ phases
    def wake_loss(self, params, x, key):
        enc, gen = params
        z, d = enc(x)
        loss = latent_kl(z)
        if self.rem:
            loss = loss + _bce(d, jnp.ones_like(d))
        if self.wake:
            noisy = z + self.wake_noise * jr.normal(key, z.shape, z.dtype)
            loss = loss + jnp.mean((gen(noisy) - x) ** 2)
        return loss

    def nrem_loss(self, params, x, key):
        enc, gen = params
        z = jax.lax.stop_gradient(enc(x)[0])
        dream = jax.lax.stop_gradient(gen(z))
        k_rate, k_tile, k_mask = jr.split(key, 3)
        rate = jr.uniform(k_rate)
        tile = jr.randint(k_tile, (), 1, 9)
        occluded = occlude_tiles(k_mask, dream, rate, tile)
        return jnp.mean((enc(occluded)[0] - z) ** 2)

    def rem_loss(self, params, x, memory: DreamMemory, key):
        enc, gen = params
        z = jax.lax.stop_gradient(enc(x)[0])
        a = self.rem_noise
        prev = jnp.where(memory.seen, memory.z, z)
        mix = (1 - a) / 2 * (z + prev) + a * jr.normal(key, z.shape, z.dtype)
        _, d = enc(gen(mix))
        return _bce(d, jnp.zeros_like(d))

    def phase_gradients(self, params, memory, x, key):
        """`{phase: (loss, (grad_encoder, grad_generator))}` at `params` (REM's
        generator gradient already reversed); zeros for phases that are off."""
        kw, kn, kr = jr.split(key, 3)
        out = {}
        loss, g = jax.value_and_grad(self.wake_loss)(params, x, kw)
        out["wake"] = (loss, g)
        if self.nrem:
            loss, g = jax.value_and_grad(self.nrem_loss)(params, x, kn)
        else:
            loss, g = jnp.zeros(()), _zeros(params)
        out["nrem"] = (loss, g)
        if self.rem:
            loss, (ge, gg) = jax.value_and_grad(self.rem_loss)(params, x, memory, kr)
            g = (ge, jax.tree_util.tree_map(jnp.negative, gg))
        else:
            loss, g = jnp.zeros(()), _zeros(params)
        out["rem"] = (loss, g)
        return out

    def _apply(self, params, opt_state, grads):
        opt = self._opt()
        new_p, new_s = [], []
        for p, s, g in zip(params, opt_state, grads, strict=True):
            u, s = opt.update(g, s, p)
            new_p.append(optax.apply_updates(p, u))
            new_s.append(s)
        return tuple(new_p), tuple(new_s)

    def _wake_step(self, params, opt_state, x, key):
        loss, g = jax.value_and_grad(self.wake_loss)(params, x, key)
        params, opt_state = self._apply(params, opt_state, g)
        return params, opt_state, loss

    def _nrem_step(self, params, opt_state, x, key):
        _, (ge, _) = jax.value_and_grad(self.nrem_loss)(params, x, key)
        new, s = self._apply(params[:1], opt_state[:1], (ge,))
        return (new[0], params[1]), (s[0], opt_state[1])

    def _rem_step(self, params, opt_state, x, memory, key):
        _, (ge, gg) = jax.value_and_grad(self.rem_loss)(params, x, memory, key)
        gg = jax.tree_util.tree_map(jnp.negative, gg)
        return self._apply(params, opt_state, (ge, gg))

    def update(self, params, memory, opt_state, x, key: PRNGKeyArray):
        """One mini-batch of every phase that is on, in turn (PAD)."""
        kw, kn, kr = jr.split(key, 3)
        z_wake = jax.lax.stop_gradient(params[0](x)[0])
        params, opt_state, loss = self._wake_step(params, opt_state, x, kw)
        if self.nrem:
            params, opt_state = self._nrem_step(params, opt_state, x, kn)
        if self.rem:
            params, opt_state = self._rem_step(params, opt_state, x, memory, kr)
        memory = DreamMemory(z_wake, jnp.array(True))
        return params, memory, opt_state, loss

    def update_at(self, t, params, memory, opt_state, x, key: PRNGKeyArray):
        """One mini-batch at time `t`: with a night, only the phase of the
        stage at `t` (module docs); without, `update`. The loss is the wake
        loss (evaluated in every stage)."""
        if self.night is None:
            return self.update(params, memory, opt_state, x, key)
        kw, kn, kr = jr.split(key, 3)
        z_wake = jax.lax.stop_gradient(params[0](x)[0])

        def run(on, step, state):
            return jax.lax.cond(on, lambda s: step(*s), lambda s: s, state)

        on = {k: self.night.in_stages(t, v) for k, v in self.STAGES.items()}
        # the wake loss is reported in every stage; in WAKE its step computes it
        params, opt_state, loss = jax.lax.cond(
            on["wake"],
            lambda p, o: self._wake_step(p, o, x, kw),
            lambda p, o: (p, o, self.wake_loss(p, x, kw)),
            params,
            opt_state,
        )
        state = (params, opt_state)
        if self.nrem:
            state = run(on["nrem"], lambda p, o: self._nrem_step(p, o, x, kn), state)
        if self.rem:
            state = run(
                on["rem"], lambda p, o: self._rem_step(p, o, x, memory, kr), state
            )
        memory = DreamMemory(z_wake, jnp.array(True))
        params, opt_state = state
        return params, memory, opt_state, loss
