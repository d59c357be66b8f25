"""Neural dynamics."""

from ._base import AbstractDynamics as AbstractDynamics
from ._rate import RateNetwork as RateNetwork
