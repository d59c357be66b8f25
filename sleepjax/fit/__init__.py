"""Gradient-based fitting of model parameters (`sleepjax.fit`).

Any model works: `build(params) -> Experiment` fixes everything but the
parameters (options, protocol settings, key), for example a registered
model's protocol builder with its options bound:

```python
import optax
from sleepjax import fit as sf

build = lambda p: protocol(options, p, key)      # any Experiment builder
data = sf.simulate_data(build, true_params, key=1)
res = sf.fit(build, start_params, data, ["a_P", "tau_P"],
             sf.Trajectory(("memory",)), constraints={"tau_P": "positive"},
             optimizer=optax.adam(0.05), steps=200, restarts=4, spread=0.2)
print(res.summary())
```

A worked example with a real model is in docs/fit.md.
"""

from ._data import FitData as FitData
from ._data import FitNaNError as FitNaNError
from ._data import simulate_data as simulate_data
from ._fit import fit as fit
from ._io import load_result as load_result
from ._io import save_result as save_result
from ._loss import AbstractLoss as AbstractLoss
from ._loss import CustomLoss as CustomLoss
from ._loss import SummaryStats as SummaryStats
from ._loss import Trajectory as Trajectory
from ._observe import differentiable as differentiable
from ._params import AbstractConstraint as AbstractConstraint
from ._params import Identity as Identity
from ._params import Interval as Interval
from ._params import Negative as Negative
from ._params import Param as Param
from ._params import Positive as Positive
from ._problem import Objective as Objective
from ._problem import objective as objective
from ._result import FitResult as FitResult
