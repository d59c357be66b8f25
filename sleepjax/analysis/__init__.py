"""Analysis of weights and trajectories: spectra, memory planes, limit cycles.

Pure JAX functions, safe under `jax.jit` and `jax.vmap` (batch over matrices or
trajectories with `jax.vmap`).
"""

from ._eig import eig as eig
from ._limit_cycle import limit_cycle_stats as limit_cycle_stats
from ._limit_cycle import linearised_eigenvalues as linearised_eigenvalues
from ._limit_cycle import reduced_limit_cycle_rhs as reduced_limit_cycle_rhs
from ._planes import orthonormal_basis as orthonormal_basis
from ._planes import plane_block as plane_block
from ._planes import plane_overlap as plane_overlap
from ._planes import reduced_coordinates as reduced_coordinates
from ._spectrum import MemoryEigen as MemoryEigen
from ._spectrum import WeightStatistics as WeightStatistics
from ._spectrum import eigenplane as eigenplane
from ._spectrum import eigenvalues as eigenvalues
from ._spectrum import memory_eigenvalue as memory_eigenvalue
from ._spectrum import memory_eigenvalue_and_overlap as memory_eigenvalue_and_overlap
from ._spectrum import skew_spectrum as skew_spectrum
from ._spectrum import weight_statistics as weight_statistics
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
