"""Susman, Brenner & Barak 2019, "Stable memory with unstable synapses".

A thin assembly of general parts: `RateNetwork` dynamics, rate STDP, one of
three homeostatic rules, additive weight noise, OU plane stimuli, retrieval
pulses and memory insertion events. Each protocol returns an `Experiment`.

Parameters split into `SusmanOptions` (static structure: sizes, rule names,
paper/code variants) and `SusmanParams` (numbers, pytree leaves: sweep them with
`jax.vmap`, fit them with `jax.grad`). `SPEC` registers the model (configs
name it `susman`).
"""

from ..._spec import ModelSpec, Protocol, Report
from ._build import binary_planes as binary_planes
from ._build import build_model as build_model
from ._build import gaussian_plane as gaussian_plane
from ._build import homeostasis as homeostasis
from ._build import stdp as stdp
from ._capacity import CapacityObservables as CapacityObservables
from ._capacity import capacity as capacity
from ._capacity import cycle_amplitude as cycle_amplitude
from ._equilibrate import SpectrumObservables as SpectrumObservables
from ._equilibrate import equilibrate as equilibrate
from ._equilibrate import equilibrated_state as equilibrated_state
from ._observables import SusmanObservables as SusmanObservables
from ._options import CODES as CODES
from ._options import PARAM_NAMES as PARAM_NAMES
from ._options import RULES as RULES
from ._options import SusmanOptions as SusmanOptions
from ._options import SusmanParams as SusmanParams
from ._protocols import erosion as erosion
from ._protocols import learning as learning
from ._protocols import life_cycle as life_cycle
from ._protocols import limit_cycle as limit_cycle
from ._report import REPORTS
from ._report_cycles import cue_responses as cue_responses
from ._report_cycles import reduced_cycles as reduced_cycles

SPEC = ModelSpec(
    name="susman",
    title="Susman, Brenner & Barak 2019: stable memory with unstable synapses "
    "(imaginary-coded memories in a plastic rate network)",
    options=SusmanOptions,
    params=SusmanParams,
    protocols={
        "capacity": Protocol(
            capacity, uses_params=False, numeric=frozenset({"load", "corruption"})
        ),
        "equilibrate": Protocol(equilibrate),
        "erosion": Protocol(erosion),
        "learning": Protocol(learning),
        "limit_cycle": Protocol(
            limit_cycle, uses_params=False, numeric=frozenset({"rho", "gamma", "cue"})
        ),
        "hopf": Protocol(
            limit_cycle, uses_params=False, numeric=frozenset({"rho", "gamma", "cue"})
        ),
        "life_cycle": Protocol(life_cycle),
    },
    reports={k: Report(*v) for k, v in REPORTS.items()},
    default=True,
)
