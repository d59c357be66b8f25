"""Parameter sweeps: thousands of networks, chunked, sharded, resumable, labelled.

- `validate_sweep(cfg)`: check a config's `[sweep]` section eagerly (nothing is
  compiled or written) and lay out every network: a `SweepPlan`.
- `sweep(cfg, out)`: run it into `out/results.zarr` (or in memory), resuming
  an interrupted run: a `SweepResult`.
- `sweep(build, table, params=...)`: the same from Python, with
  `build(params, key) -> Experiment` and a table of parameter values per row
  (`grid(...)` makes a full grid).
- `ResultStore`: the zarr v3 results store that xarray opens.

See docs/sweep.md for the `[sweep]` syntax and how the work is cut.
"""

from ._api import grid as grid
from ._api import sweep as sweep
from ._plan import Group as Group
from ._plan import SweepPlan as SweepPlan
from ._plan import validate_sweep as validate_sweep
from ._run import STORE_NAME as STORE_NAME
from ._run import SweepResult as SweepResult
from ._store import ResultStore as ResultStore
from ._store import Status as Status
from ._store import StoreConfigMismatch as StoreConfigMismatch
from ._store import VariableSpec as VariableSpec
