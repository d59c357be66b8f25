"""sleepjax: differentiable, vmapped plastic networks with noise, homeostasis, sleep.

The public API is listed once, below. Names load on first use (`import
sleepjax` is cheap: the command line's `--help` does not import JAX).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: subpackages
_SUBPACKAGES = (
    "analysis",
    "dynamics",
    "plasticity",
    "sleep",
    "stimuli",
)

#: public name -> module that defines it
_API = {
    "FoldInBrownianPath": "._brownian",
    "ConfigError": "._errors",
    "Integer": "._errors",
    "Interval": "._errors",
    "NonNegative": "._errors",
    "OnGrid": "._errors",
    "Positive": "._errors",
    "Real": "._errors",
    "Experiment": "._experiment",
    "save_grid": "._experiment",
    "iterate": "._iterate",
    "Model": "._model",
    "NeuronNoise": "._noise",
    "WeightNoise": "._noise",
    "ProgressReporter": "._progress",
    "listen_progress": "._progress",
    "get_model": "._registry",
    "register": "._registry",
    "registered_models": "._registry",
    "unregister": "._registry",
    "STATUS_MEANINGS": "._simulate",
    "Simulation": "._simulate",
    "network_keys": "._simulate",
    "simulate": "._simulate",
    "EventSolver": "._solvers",
    "MultirateEuler": "._solvers",
    "AbstractObservables": "._spec",
    "AbstractParams": "._spec",
    "ModelSpec": "._spec",
    "Protocol": "._spec",
    "Report": "._spec",
    "option": "._spec",
    "param": "._spec",
    "Activity": "._state",
    "NetworkState": "._state",
    "AbstractMap": "._system",
    "AbstractSystem": "._system",
}

__all__ = [*_SUBPACKAGES, *_API, "__version__"]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
    elif name in _API:
        module = getattr(importlib.import_module(_API[name], __name__), name)
    else:
        raise AttributeError(f"module 'sleepjax' has no attribute {name!r}")
    globals()[name] = module
    return module


def __dir__():
    return sorted(__all__)
