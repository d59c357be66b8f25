"""Published models assembled from sleepjax's general parts."""

from . import generative as generative
from . import hopfield as hopfield
from . import sleep as sleep
from . import slow_wave as slow_wave
from . import susman as susman
from . import two_factor as two_factor
