"""sleepjax: differentiable, vmapped plastic networks with noise, homeostasis, sleep."""

from . import analysis as analysis
from . import dynamics as dynamics
from . import plasticity as plasticity
from . import protocols as protocols
from ._brownian import FoldInBrownianPath as FoldInBrownianPath
from ._iterate import iterate as iterate
from ._model import Model as Model
from ._noise import NeuronNoise as NeuronNoise
from ._noise import WeightNoise as WeightNoise
from ._simulate import STATUS_MEANINGS as STATUS_MEANINGS
from ._simulate import Simulation as Simulation
from ._simulate import network_keys as network_keys
from ._simulate import simulate as simulate
from ._solvers import EventSolver as EventSolver
from ._solvers import MultirateEuler as MultirateEuler
from ._state import Activity as Activity
from ._state import NetworkState as NetworkState
from ._system import AbstractMap as AbstractMap
from ._system import AbstractSystem as AbstractSystem

__version__ = "0.1.0"
