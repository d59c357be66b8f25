"""`sleepjax fit CONFIG.toml --out DIR`: fit model parameters to simulated data.

`add_parser(subparsers)` registers the sub-command on the main `sleepjax`
parser; `main(args)` runs it and returns an exit status (0 ok, 1 the fit
failed, 2 bad input). Nothing is written unless the fit succeeds, and the
output directory appears complete or not at all.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `fit` sub-command to an `argparse` sub-parsers object."""
    p = subparsers.add_parser(
        "fit",
        help="fit plasticity parameters to simulated data by gradient descent",
        description=(
            "Simulate data with the [model] parameters, then fit the [fit] params "
            "from their start values by gradient descent through the noisy "
            "solve. Writes result.npz, fit.json and fit.png into --out."
        ),
    )
    _arguments(p)
    p.set_defaults(func=main)
    return p


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="fit config (TOML); see docs/fit.md")
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty output directory (atomically, at the end)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--check",
        action="store_true",
        help="validate the config and the output directory, then stop",
    )


def main(args: argparse.Namespace) -> int:
    """Run `sleepjax fit`; returns the exit status."""
    from ._config import ConfigError, load_config
    from ._io import check_out_dir

    try:
        cfg = load_config(args.config)
        check_out_dir(args.out, overwrite=args.overwrite)
    except (ConfigError, FileExistsError) as e:
        print(f"sleepjax fit: {e}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: ok")
        return 0

    import jax

    with jax.enable_x64(bool(cfg.run.run.float64)):
        result = _run(cfg, args)
    if result is None:
        return 1
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    from ._io import save_result

    say(result.summary())
    meta = {"file": str(args.config), "toml": cfg.raw}
    out = save_result(result, args.out, config=meta, overwrite=args.overwrite)
    say(f"wrote {out}/result.npz, fit.json, fit.png")
    return 0


def _run(cfg, args):
    """Simulate the data and fit; `None` if the fit stopped on a NaN."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from ._fit import FitNaNError, fit, simulate_data

    dtype = jnp.result_type(float)  # float64 under [run] float64 = true

    def cast(tree):
        return jax.tree.map(
            lambda a: jnp.asarray(a, dtype) if eqx.is_inexact_array(a) else a, tree
        )

    build = cfg.build()
    solver = cfg.run.run.solver_object()
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(
        f"simulating data: {cfg.run.protocol}, n={cfg.run.options.n}, "
        f"{cfg.data_draws} draw(s), noise seed {cfg.data_seed}"
    )
    data = simulate_data(
        build,
        cast(cfg.true_params),
        key=cfg.key(cfg.data_seed),
        draws=cfg.data_draws,
        observables=cfg.loss.observables,
        solver=solver,
    )
    say(
        f"fitting {', '.join(p.name for p in cfg.trainables)}: up to {cfg.steps} "
        f"steps x {cfg.restarts} restart(s) on {jax.default_backend()}"
    )
    try:
        return fit(
            build,
            cast(cfg.start_params),
            data,
            cfg.trainables,
            cfg.loss,
            optimizer=cfg.optimizer,
            steps=cfg.steps,
            restarts=cfg.restarts,
            spread=cfg.spread,
            tol=cfg.tol,
            xtol=cfg.xtol,
            key=cfg.key(cfg.seed),
            solver=solver,
            progress=not args.quiet,
        )
    except FitNaNError as e:
        print(f"sleepjax fit: {e}", file=sys.stderr)
        return None


def _standalone(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="sleepjax")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(_standalone())
