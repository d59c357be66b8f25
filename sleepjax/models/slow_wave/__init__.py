"""Yoshida & Toyoizumi 2023, "Information maximization explains state-dependent
synaptic plasticity and memory reorganization during non-rapid eye movement
sleep" (PNAS Nexus), plus travelling up-state waves in an E–I rate lattice.

A thin assembly of general parts: `SpikeResponseNetwork` (stochastic
spike-response neurons, dt = 1 ms, with `BlockProjection`/`BitProjection`
connectivity), the `Infomax` rule, the up/down analysis (`hysteresis`,
`global_local`, `StateTally`) and `EIRateLattice` with `chain_wave`. Each
protocol returns an `Experiment`; `SPEC` registers the model (configs name
it `slow_wave`).

Targets (tests/test_slow_wave.py, SPEC §3): Y1 ḡ ≈ 0.5 Hz (down background)
and ≈ 6 Hz (up); Y2 the STDP curve shifts to depression in up states, where
pre-only stimulation depresses (≈ 0 in down states); Y3 population 1's E rate
is lowest in global down states and local up > global up; Y4 reactivations in
global up states potentiate, in local up states depress.
"""

from ..._spec import ModelSpec, Protocol, Report
from ._drivers import PeriodicPairing as PeriodicPairing
from ._drivers import Reactivation as Reactivation
from ._drivers import TriggeredPairing as TriggeredPairing
from ._maps import SingleNeuronMap as SingleNeuronMap
from ._maps import SlowWaveMap as SlowWaveMap
from ._options import SlowWaveOptions as SlowWaveOptions
from ._options import SlowWaveParams as SlowWaveParams
from ._parts import rate_lattice as rate_lattice
from ._parts import single_neuron as single_neuron
from ._parts import slow_wave_network as slow_wave_network
from ._protocols import baseline as baseline
from ._protocols import network_stdp as network_stdp
from ._protocols import reorganisation as reorganisation
from ._protocols import stdp as stdp
from ._protocols import up_down as up_down
from ._protocols import waves as waves
from ._report import REPORTS

SPEC = ModelSpec(
    name="slow_wave",
    title="Yoshida & Toyoizumi 2023: infomax plasticity in NREM up/down states "
    "(stochastic spiking, dt = 1 ms), with travelling waves in an E–I rate lattice",
    options=SlowWaveOptions,
    params=SlowWaveParams,
    protocols={
        "baseline": Protocol(baseline, numeric=frozenset({"background_rate"})),
        "stdp": Protocol(stdp, numeric=frozenset({"delta_t", "background_rate"})),
        "up_down": Protocol(up_down),
        "network_stdp": Protocol(network_stdp, numeric=frozenset({"delta_t"})),
        "reorganisation": Protocol(
            reorganisation, numeric=frozenset({"rate_start", "rate_drop"})
        ),
        "waves": Protocol(waves),
    },
    reports={k: Report(*v) for k, v in REPORTS.items()},
)
