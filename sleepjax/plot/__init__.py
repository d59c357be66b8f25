"""Figures and summary tables drawn from results stores: the one home for
plotting helpers (models' reports use them)."""

from ._fit import plot_fit as plot_fit
from ._stages import STAGE_COLORS as STAGE_COLORS
from ._stages import draw_hypnogram as draw_hypnogram
from ._state import plot_activity as plot_activity
from ._state import plot_spectrum as plot_spectrum
from ._sweep import describe_variables as describe_variables
from ._sweep import open_results as open_results
from ._sweep import plot_results as plot_results
from ._view import TIME as TIME
from ._view import StoreView as StoreView
from ._view import band as band
from ._view import format_table as format_table
from ._view import plain_log as plain_log
from ._view import report as report
from ._view import spread as spread
