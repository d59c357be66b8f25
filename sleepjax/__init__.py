"""sleepjax: differentiable, vmapped plastic networks with noise, homeostasis, sleep."""

from . import analysis as analysis
from . import dynamics as dynamics
from . import plasticity as plasticity
from . import stimuli as stimuli
from ._brownian import FoldInBrownianPath as FoldInBrownianPath
from ._errors import ConfigError as ConfigError
from ._errors import Integer as Integer
from ._errors import Interval as Interval
from ._errors import NonNegative as NonNegative
from ._errors import OnGrid as OnGrid
from ._errors import Positive as Positive
from ._errors import Real as Real
from ._experiment import Experiment as Experiment
from ._experiment import save_grid as save_grid
from ._iterate import iterate as iterate
from ._model import Model as Model
from ._noise import NeuronNoise as NeuronNoise
from ._noise import WeightNoise as WeightNoise
from ._registry import get_model as get_model
from ._registry import register as register
from ._registry import registered_models as registered_models
from ._registry import unregister as unregister
from ._simulate import STATUS_MEANINGS as STATUS_MEANINGS
from ._simulate import Simulation as Simulation
from ._simulate import network_keys as network_keys
from ._simulate import simulate as simulate
from ._solvers import EventSolver as EventSolver
from ._solvers import MultirateEuler as MultirateEuler
from ._spec import AbstractObservables as AbstractObservables
from ._spec import AbstractParams as AbstractParams
from ._spec import ModelSpec as ModelSpec
from ._spec import Protocol as Protocol
from ._spec import Report as Report
from ._spec import option as option
from ._spec import param as param
from ._state import Activity as Activity
from ._state import NetworkState as NetworkState
from ._system import AbstractMap as AbstractMap
from ._system import AbstractSystem as AbstractSystem

__version__ = "0.1.0"
