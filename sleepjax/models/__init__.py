"""Published models assembled from sleepjax's general parts."""

from . import hopfield as hopfield
from . import susman as susman
