"""Iatropoulos, Gerstner & Brea 2025, "Two-factor synaptic consolidation
reconciles robust memory with pruning and homeostatic scaling" (PNAS).

A thin assembly of general parts: binary threshold units with k-WTA and
Gaussian thresholds (`sleepjax.dynamics`), z-factor synapses w = Π_k u^(k)
with permanent pruning and homeostatic scaling, gated covariance Hebb and
soft-min / hard-min replay (`sleepjax.plasticity`), and margins, densities,
power sums, factor correlations, robustness curves and the Gardner theory
(`sleepjax.analysis`). The wake–sleep night and supervised consolidation are
discrete-time maps (one epoch per step) run by `iterate`; `SPEC` registers
the model (configs name it `two_factor`).

Targets (tests/test_two_factor.py): I1 the capacity of the sign-constrained
perceptron with threshold; I2 the z = 1 margin and density (0.5) after
consolidation and pruning for z = 2; I3 the best-conserved norm exponent
q = 2/z; I4 the wake–sleep night (density falls, weak synapses first, factor
correlation rises, SNRs rise, weakest memories gain most).
"""

from ..._spec import ModelSpec, Protocol, Report
from ._maps import Consolidation as Consolidation
from ._maps import NetworkState as NetworkState
from ._maps import WakeSleep as WakeSleep
from ._maps import attractors as attractors
from ._observables import ConsolidationObservables as ConsolidationObservables
from ._observables import NightObservables as NightObservables
from ._observables import RobustnessObservables as RobustnessObservables
from ._options import TwoFactorOptions as TwoFactorOptions
from ._options import TwoFactorParams as TwoFactorParams
from ._protocols import capacity as capacity
from ._protocols import consolidation as consolidation
from ._protocols import night as night
from ._protocols import patterns as patterns
from ._protocols import robustness as robustness
from ._protocols import supervised as supervised
from ._protocols import wake_sleep as wake_sleep
from ._report import night_notes, night_report, robustness_notes, robustness_report
from ._report_load import (
    capacity_notes,
    capacity_report,
    consolidation_notes,
    consolidation_report,
)

SPEC = ModelSpec(
    name="two_factor",
    title="Iatropoulos, Gerstner & Brea 2025: two-factor synaptic consolidation "
    "(wake encoding, sleep replay with pruning and homeostatic scaling)",
    options=TwoFactorOptions,
    params=TwoFactorParams,
    protocols={
        "consolidation": Protocol(consolidation),
        "capacity": Protocol(capacity),
        "night": Protocol(night),
        "robustness": Protocol(robustness),
    },
    reports={
        "consolidation": Report(consolidation_report, consolidation_notes),
        "capacity": Report(capacity_report, capacity_notes),
        "night": Report(night_report, night_notes),
        "robustness": Report(robustness_report, robustness_notes),
    },
)
