"""Saving fit results atomically: a directory appears complete or not at all."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np

RESULT_FILE = "result.npz"
META_FILE = "fit.json"
FIGURE_FILE = "fit.png"


def versions() -> dict[str, str]:
    """Versions of sleepjax and the libraries a fit depends on."""
    import diffrax
    import equinox
    import jax
    import optax

    import sleepjax

    return {
        "sleepjax": sleepjax.__version__,
        "jax": jax.__version__,
        "diffrax": diffrax.__version__,
        "equinox": equinox.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": jax.default_backend(),
    }


def result_arrays(result) -> dict[str, np.ndarray]:
    """Flat dict of the arrays of a `FitResult` (keys like `values/a_P`)."""
    out = {
        "loss": result.loss,
        "grad_norm": result.grad_norm,
        "ts": result.ts,
        "best": np.asarray(result.best),
    }
    for group in ("values", "init_values", "trace", "target", "fitted", "initial"):
        for k, v in getattr(result, group).items():
            out[f"{group}/{k}"] = np.asarray(v)
    if result.true_values is not None:
        for k, v in result.true_values.items():
            out[f"true_values/{k}"] = np.asarray(v)
    return out


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a directory.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"--out {out} exists and is not empty; choose another directory or "
            "pass --overwrite."
        )


def check_out_dir(out, overwrite: bool = False) -> None:
    """Raise before any work if `out` cannot receive a result."""
    _check_out(Path(out), overwrite)


def save_result(
    result, out, *, config: dict | None = None, figure=True, overwrite: bool = False
) -> Path:
    """Write `result.npz`, `fit.json` (config, versions, summary) and `fit.png`.

    Everything is written into a hidden staging directory next to `out`, which
    is then renamed onto `out` in one step: a crash leaves no complete-looking
    result. An existing non-empty `out` is refused unless `overwrite`.

    **Returns:** the output directory.
    """
    out = Path(out)
    _check_out(out, overwrite)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private
    try:
        np.savez_compressed(stage / RESULT_FILE, **result_arrays(result))
        if figure:
            from ..plot import _fit

            fig = _fit.plot_fit(result) if figure is True else figure
            fig.savefig(stage / FIGURE_FILE, dpi=110)
            import matplotlib.pyplot as plt

            plt.close(fig)
        r = result.best
        meta = {
            "created": datetime.datetime.now(datetime.UTC).isoformat(),
            "versions": versions(),
            "config": config,
            "params": list(result.names),
            "constraints": dict(zip(result.names, result.constraints, strict=True)),
            "best_restart": r,
            "final_loss": [float(x) for x in result.loss[-1]],
            "fitted_best": {
                n: np.asarray(result.values[n][r]).tolist() for n in result.names
            },
            "true": None
            if result.true_values is None
            else {n: np.asarray(v).tolist() for n, v in result.true_values.items()},
            "relative_error_best": None
            if result.true_values is None
            else result.relative_error(),
            "seconds": result.seconds,
            "compile_seconds": result.compile_seconds,
            "steps": int(result.grad_norm.shape[0]),
            "restarts": int(result.loss.shape[1]),
            "stopped_because": getattr(result, "stop_reason", ""),
        }
        (stage / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        old = None
        if out.exists():
            if any(out.iterdir()):
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
                os.rmdir(old)
                os.replace(out, old)
            else:
                out.rmdir()
        os.replace(stage, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out


def load_result(out) -> tuple[dict[str, np.ndarray], dict]:
    """Read a saved fit: `(arrays, meta)` (see `save_result`)."""
    out = Path(out)
    meta = json.loads((out / META_FILE).read_text())
    with np.load(out / RESULT_FILE) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, meta
