"""What an experiment does to a network: stimuli (inputs), events (jumps such
as memory insertion) and schedules (time-dependent gains, e.g. per sleep stage).

(A model's *protocols* are its experiment builders; see `sleepjax.ModelSpec`.)
"""

from .._schedule import AbstractSchedule as AbstractSchedule
from .._schedule import Constant as Constant
from .._schedule import PiecewiseConstant as PiecewiseConstant
from .._schedule import window as window
from ._events import AbstractConditionEvent as AbstractConditionEvent
from ._events import AbstractEvent as AbstractEvent
from ._events import AddWeights as AddWeights
from ._events import memory_matrix as memory_matrix
from ._sequence import SequenceInput as SequenceInput
from ._stimulus import AbstractStimulus as AbstractStimulus
from ._stimulus import OUPlaneStimulus as OUPlaneStimulus
from ._stimulus import Pulse as Pulse
