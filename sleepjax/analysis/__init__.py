"""Analysis of weights and trajectories: spectra, memory planes, limit cycles.

Pure JAX functions, safe under `jax.jit` and `jax.vmap` (batch over matrices or
trajectories with `jax.vmap`).
"""

from ._assembly_sequence import chain_weights as chain_weights
from ._assembly_sequence import cued_recall as cued_recall
from ._assembly_sequence import group_weights as group_weights
from ._assembly_sequence import replay_transitions as replay_transitions
from ._distances import class_distances as class_distances
from ._distances import paired_distance as paired_distance
from ._eig import eig as eig
from ._limit_cycle import limit_cycle_stats as limit_cycle_stats
from ._limit_cycle import linearised_eigenvalues as linearised_eigenvalues
from ._limit_cycle import reduced_limit_cycle_rhs as reduced_limit_cycle_rhs
from ._margins import best_conserved as best_conserved
from ._margins import conservation_error as conservation_error
from ._margins import density as density
from ._margins import factor_correlations as factor_correlations
from ._margins import gardner_stability as gardner_stability
from ._margins import l2_margin as l2_margin
from ._margins import memory_margins as memory_margins
from ._margins import norm_margin as norm_margin
from ._margins import power_sums as power_sums
from ._margins import rho_margin as rho_margin
from ._margins import synaptic_margin as synaptic_margin
from ._margins import synaptic_snr as synaptic_snr
from ._perceptron import gardner_capacity as gardner_capacity
from ._perceptron import gardner_margin as gardner_margin
from ._planes import orthonormal_basis as orthonormal_basis
from ._planes import plane_block as plane_block
from ._planes import plane_overlap as plane_overlap
from ._planes import reduced_coordinates as reduced_coordinates
from ._probe import logistic_fit as logistic_fit
from ._probe import probe_accuracy as probe_accuracy
from ._probe import standardise as standardise
from ._probe import svm_dual as svm_dual
from ._probe import svm_probe_accuracy as svm_probe_accuracy
from ._robustness import crossing as crossing
from ._robustness import neural_noise_recall as neural_noise_recall
from ._robustness import synaptic_noise_recall as synaptic_noise_recall
from ._sequence import sequence_recall as sequence_recall
from ._spectrum import MemoryEigen as MemoryEigen
from ._spectrum import WeightStatistics as WeightStatistics
from ._spectrum import eigenplane as eigenplane
from ._spectrum import eigenvalues as eigenvalues
from ._spectrum import memory_eigenvalue as memory_eigenvalue
from ._spectrum import memory_eigenvalue_and_overlap as memory_eigenvalue_and_overlap
from ._spectrum import skew_spectrum as skew_spectrum
from ._spectrum import weight_statistics as weight_statistics
from ._stationarity import stationary as stationary
from ._stationarity import window_drift as window_drift
from ._updown import GLOBAL_DOWN as GLOBAL_DOWN
from ._updown import GLOBAL_UP as GLOBAL_UP
from ._updown import LOCAL_DOWN as LOCAL_DOWN
from ._updown import LOCAL_UP as LOCAL_UP
from ._updown import STATE_NAMES as STATE_NAMES
from ._updown import StateTally as StateTally
from ._updown import classify_updown as classify_updown
from ._updown import global_local as global_local
from ._updown import hysteresis as hysteresis
from ._updown import onsets as onsets
from ._updown import rates_by_state as rates_by_state
from ._updown import time_fractions as time_fractions
from ._waves import chain_wave as chain_wave
from ._waves import neighbour_delays as neighbour_delays
from ._waves import sheet_wave as sheet_wave
