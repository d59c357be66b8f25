"""Hippocampus and cortex: one-shot modern Hopfield memory, generative replay
into a VAE (Spens & Burgess 2024, Nat Hum Behav), and perturbed and
adversarial dreaming (Deperrois et al. 2022, eLife).

An assembly of general parts: `sleepjax.data.shapes` (procedural labelled
images in place of Shapes3D), `sleepjax.dynamics.ModernHopfieldMemory` (the
hippocampus; its update is one Euler step of Krotov & Hopfield's model B),
`sleepjax.nets` (the VAE, the dreaming networks, training as a map) and
`sleepjax.analysis.probe_accuracy` (the linear read-out).

Protocols: `consolidation`, `recall`, `dreaming`. Checked
(tests/test_memory.py, tests/test_dreaming.py): G2 retrieval from noise
lands on stored patterns when β·Δ/√d ≫ log M; the dreaming switches change
which parameters receive gradients. Not reproduced at the reduced size: G1,
decoding accuracy rising well above the untrained control over
consolidation (docs/generative.md).
"""

from ..._spec import ModelSpec, Protocol, Report
from ._dream import DreamingObservables as DreamingObservables
from ._dream import dreaming as dreaming
from ._observables import ConsolidationObservables as ConsolidationObservables
from ._observables import ExtendedModel as ExtendedModel
from ._observables import RecallObservables as RecallObservables
from ._options import GenerativeOptions as GenerativeOptions
from ._options import GenerativeParams as GenerativeParams
from ._protocols import consolidation as consolidation
from ._protocols import cortex as cortex
from ._protocols import recall as recall
from ._report import REPORTS

_NUMERIC = frozenset({"noise", "occlusion"})

SPEC = ModelSpec(
    name="generative",
    title="Spens & Burgess 2024 generative memory (modern Hopfield hippocampus, "
    "replay into a VAE) and Deperrois et al. 2022 perturbed/adversarial dreaming",
    options=GenerativeOptions,
    params=GenerativeParams,
    protocols={
        "consolidation": Protocol(consolidation, numeric=_NUMERIC),
        "recall": Protocol(recall, numeric=frozenset({"occlusion"})),
        "dreaming": Protocol(dreaming, numeric=frozenset({"occlusion"})),
    },
    reports={k: Report(*v) for k, v in REPORTS.items()},
)
