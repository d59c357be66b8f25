"""Neural dynamics."""

from ._base import AbstractDynamics as AbstractDynamics
from ._binary import BinaryHopfield as BinaryHopfield
from ._binary import hebbian as hebbian
from ._hopfield import AbstractLagrangian as AbstractLagrangian
from ._hopfield import HopfieldState as HopfieldState
from ._hopfield import LogSumExpLagrangian as LogSumExpLagrangian
from ._hopfield import PolynomialLagrangian as PolynomialLagrangian
from ._hopfield import QuadraticLagrangian as QuadraticLagrangian
from ._hopfield import ReducedHopfield as ReducedHopfield
from ._hopfield import TwoLayerHopfield as TwoLayerHopfield
from ._memory import ModernHopfieldMemory as ModernHopfieldMemory
from ._memory import converge as converge
from ._memory import coverage as coverage
from ._rate import RateNetwork as RateNetwork
