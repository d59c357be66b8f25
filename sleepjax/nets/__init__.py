"""Small neural networks trained with optax: a convolutional VAE (Spens &
Burgess's cortex), the perturbed-and-adversarial-dreaming networks
(Deperrois et al.), their layers, and training as a discrete-time map (one
step = one epoch) that `Experiment`, sweeps and stores run like any model."""

from ._dreaming import DreamEncoder as DreamEncoder
from ._dreaming import DreamGenerator as DreamGenerator
from ._dreaming import DreamingObjective as DreamingObjective
from ._dreaming import DreamMemory as DreamMemory
from ._dreaming import latent_kl as latent_kl
from ._layers import BatchNorm as BatchNorm
from ._layers import BNStats as BNStats
from ._layers import Conv as Conv
from ._layers import ConvTranspose as ConvTranspose
from ._layers import Dense as Dense
from ._layers import dropout as dropout
from ._layers import leaky_relu as leaky_relu
from ._layers import update_stats as update_stats
from ._layers import upsample as upsample
from ._train import AbstractObjective as AbstractObjective
from ._train import EpochTrainer as EpochTrainer
from ._train import TrainState as TrainState
from ._vae import ConvVAE as ConvVAE
from ._vae import VAEObjective as VAEObjective
from ._vae import VAEStats as VAEStats
from ._vae import kl_divergence as kl_divergence
