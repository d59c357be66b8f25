"""What a night does to memories: the sleep parts of `sleepjax.sleep`
assembled around the Susman rate network.

- `night`: memories learned in wake at different strengths, then a generated
  night with stage-dependent homeostasis, noise and prioritised replay (and
  optional targeted reactivation); disorders are settings of the generator.
- `shy`: the synaptic homeostasis hypothesis: Hebbian potentiation in wake,
  downscaling by 1 − δ in NREM, optionally sparing the largest synapses.
- `forgetting`, `forgetting_assemblies`: sleep against catastrophic
  forgetting (a sequence, then an interfering one, then an N3 night with
  STDP), with dense ±1 patterns or with cell assemblies.
- `transfer`: two-stage transfer (Go-CLS): a notebook replays a noisy
  teacher's examples into a linear student in N2/N3 over several nights.

`SPEC` registers the model; configs name it `sleep_stages` (the word `sleep`
alone is an identifier of generic code, `time.sleep`). A guide: docs/sleep.md.
"""

from ..._spec import ModelSpec, Protocol, Report
from ._forgetting import forgetting as forgetting
from ._forgetting_assemblies import forgetting_assemblies as forgetting_assemblies
from ._observables import SleepObservables as SleepObservables
from ._options import SleepOptions as SleepOptions
from ._options import SleepParams as SleepParams
from ._protocols import night as night
from ._protocols import orthonormal_planes as orthonormal_planes
from ._protocols import shy as shy
from ._report import REPORTS
from ._report_forgetting import (
    assemblies_notes,
    assemblies_report,
    forgetting_notes,
    forgetting_report,
)
from ._transfer import TransferObservables as TransferObservables
from ._transfer import transfer as transfer

_FORGETTING_NUMERIC = frozenset(
    {"overlap", "drive", "n3_stdp", "n3_noise", "wake_noise", "depression"}
)
_ASSEMBLY_NUMERIC = frozenset(
    {
        "drive",
        "n3_stdp",
        "n3_noise",
        "wake_noise",
        "connectivity",
        "w_init",
        "w_max",
        "inhibition",
        "bias",
        "bias_spread",
    }
)
_NIGHT_NUMERIC = frozenset(
    {
        "fragmentation",
        "rem_deprivation",
        "n3_suppression",
        "night_fraction",
        "nrem_homeostasis",
        "n3_stdp",
        "wake_noise",
        "nrem_noise",
        "rem_noise",
        "n2_replay",
        "n3_replay",
        "rem_replay",
        "tmr_rate",
    }
)

SPEC = ModelSpec(
    name="sleep_stages",
    title="Sleep architecture: hypnograms, stage-dependent plasticity, "
    "prioritised replay and synaptic homeostasis (Susman rate network)",
    options=SleepOptions,
    params=SleepParams,
    protocols={
        "night": Protocol(night, numeric=_NIGHT_NUMERIC),
        "shy": Protocol(shy, numeric=frozenset({"delta", "spare", "drive", "coding"})),
        "forgetting": Protocol(forgetting, numeric=_FORGETTING_NUMERIC),
        "forgetting_assemblies": Protocol(
            forgetting_assemblies, numeric=_ASSEMBLY_NUMERIC
        ),
        "transfer": Protocol(
            transfer,
            uses_params=False,
            numeric=frozenset({"snr", "student_eta", "retrieval_beta"}),
        ),
    },
    reports={k: Report(*v) for k, v in REPORTS.items()}
    | {
        "forgetting": Report(forgetting_report, forgetting_notes),
        "forgetting_assemblies": Report(assemblies_report, assemblies_notes),
    },
)
