"""Krotov & Hopfield 2020, "Large associative memory problem in neurobiology and
machine learning", with the classical binary network (Hopfield 1982).

A thin assembly of general parts: `TwoLayerHopfield` (feature and memory
neurons, Lagrangians, an energy) for model A (dense associative memory) and
model B (modern Hopfield network), and `BinaryHopfield` (the classical
network, a discrete-time map run one sweep per step). Each protocol returns
an `Experiment`; `SPEC` registers the model (configs name it `hopfield`).

Targets (tests/test_hopfield.py): K1 the energy never increases along
trajectories; K2 the two-layer network and its reduced one-layer dynamics
have the same fixed points; K3 the classical capacity ≈ 0.14 N (with its
finite-N shift); K4 at large β one Euler step (dt = τ_f) of model B from a
corrupted memory returns it.
"""

from ..._spec import ModelSpec, Protocol, Report
from ._observables import HopfieldObservables as HopfieldObservables
from ._options import NETWORKS as NETWORKS
from ._options import HopfieldOptions as HopfieldOptions
from ._options import HopfieldParams as HopfieldParams
from ._protocols import basins as basins
from ._protocols import capacity as capacity
from ._protocols import corrupt as corrupt
from ._protocols import cued_experiment as cued_experiment
from ._protocols import energy as energy
from ._protocols import network as network
from ._protocols import patterns as patterns
from ._protocols import retrieval as retrieval
from ._report import REPORTS
from ._report_load import crossing as crossing
from ._report_load import retrieval_curve as retrieval_curve

_NUMERIC = frozenset({"corruption", "threshold"})

SPEC = ModelSpec(
    name="hopfield",
    title="Krotov & Hopfield 2020: large associative memory (two-layer models A "
    "and B, energy) and the classical binary Hopfield network",
    options=HopfieldOptions,
    params=HopfieldParams,
    protocols={
        name: Protocol(fn, numeric=_NUMERIC)
        for name, fn in (
            ("retrieval", retrieval),
            ("capacity", capacity),
            ("basins", basins),
            ("energy", energy),
        )
    },
    reports={k: Report(*v) for k, v in REPORTS.items()},
)
