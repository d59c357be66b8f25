"""Figures and summary tables drawn from results stores."""

from ._susman import REPORTS as REPORTS
from ._susman import report as report
