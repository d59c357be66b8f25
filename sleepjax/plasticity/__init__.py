"""Plasticity rules and rule combinators."""

from ._base import AbstractRule as AbstractRule
from ._combinators import Bounded as Bounded
from ._combinators import Gain as Gain
from ._combinators import Masked as Masked
from ._combinators import StepGain as StepGain
from ._combinators import SumRule as SumRule
from ._consolidation import GatedCovarianceHebb as GatedCovarianceHebb
from ._consolidation import SoftMinReplay as SoftMinReplay
from ._consolidation import hard_min as hard_min
from ._consolidation import ramp as ramp
from ._consolidation import replay_gradient as replay_gradient
from ._factorised import FactorisedSynapses as FactorisedSynapses
from ._factorised import HomeostaticScaling as HomeostaticScaling
from ._factorised import factor_gradient as factor_gradient
from ._factorised import factor_product as factor_product
from ._homeostasis import Decorrelation as Decorrelation
from ._homeostasis import Dissipation as Dissipation
from ._homeostasis import RateControl as RateControl
from ._infomax import Infomax as Infomax
from ._infomax import InfomaxRate as InfomaxRate
from ._infomax import InfomaxState as InfomaxState
from ._infomax import RunningMean as RunningMean
from ._stdp import AntisymmetricSTDP as AntisymmetricSTDP
from ._stdp import RateSTDP as RateSTDP
