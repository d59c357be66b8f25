"""Published models assembled from sleepjax's general parts."""

from . import susman as susman
