"""Sleep architecture for any model: hypnograms evaluated inside jit, stage
effects as combinators (per-stage rule gains, noise, input, boundary events),
the synaptic homeostasis hypothesis, and prioritised replay.

A guide: docs/sleep.md.
"""

from ._hypnogram import N1 as N1
from ._hypnogram import N2 as N2
from ._hypnogram import N3 as N3
from ._hypnogram import NREM as NREM
from ._hypnogram import REM as REM
from ._hypnogram import STAGES as STAGES
from ._hypnogram import WAKE as WAKE
from ._hypnogram import Hypnogram as Hypnogram
from ._hypnogram import from_table as from_table
from ._hypnogram import generate as generate
from ._hypnogram import nightly as nightly
from ._hypnogram import per_stage as per_stage
from ._hypnogram import stage_code as stage_code
from ._hypnogram import stage_fractions as stage_fractions
from ._hypnogram import stage_mix as stage_mix
from ._hypnogram import stage_times as stage_times
from ._replay import PRIORITIES as PRIORITIES
from ._replay import Replay as Replay
from ._replay import priority as priority
from ._replay import targeted as targeted
from ._shy import SHY as SHY
from ._shy import Downscale as Downscale
from ._shy import DownscaleEvent as DownscaleEvent
from ._shy import downscale as downscale
from ._shy import shy_rate as shy_rate
from ._shy import spared_mask as spared_mask
from ._stages import InStages as InStages
from ._stages import OnStageEntry as OnStageEntry
from ._stages import StageEntryEvent as StageEntryEvent
from ._stages import StageInput as StageInput
from ._stages import StageNoise as StageNoise
from ._stages import StageSchedule as StageSchedule
from ._stages import boundary_events as boundary_events
from ._stages import stage_gain as stage_gain
from ._transfer import NotebookTransfer as NotebookTransfer
from ._transfer import TransferState as TransferState
