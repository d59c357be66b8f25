r"""Independent reference implementations of one benchmark workload.

The throughput benchmark compares sleepjax against what a user would otherwise
write by hand. All baselines here solve the *same* stochastic differential
equation, SPEC.md §1 decorrelation learning without input, in float32 with a
fixed step, for a batch of ``B`` independent networks of ``N`` neurons:

.. math::

    \dot x &= -x + W\,\phi, \qquad \phi = \tanh(x) \\
    \dot y &= (\phi - y)/\tau_y \\
    \dot{\bar x} &= (x - \bar x)/\tau_x \\
    \mathrm dW &= \eta\,\bigl(\phi y^\top - y \phi^\top + b\,I
                 - \tanh(x - \bar x)\,\phi^\top\bigr)\,\mathrm dt
                 + \eta\,\sigma\,\mathrm d\mathcal B_t

with :math:`\tau_y = 50`, :math:`\tau_x = 20`, :math:`\eta = 0.01`,
:math:`b = 0.5` (the code's ``0.5·I``), :math:`\sigma^2 = 1/N` and an
independent Wiener process :math:`\mathcal B_{ij}` on every weight. The scheme
is Euler–Maruyama with :math:`\Delta t = 0.1`; every right-hand side is
evaluated at the old state, then

.. math::

    W_{k+1} = W_k + \Delta t\,\eta\,F(x_k, y_k, \bar x_k, W_k)
              + \eta\,\sigma\,\sqrt{\Delta t}\,z_k, \qquad z_k \sim \mathcal N(0, I).

The initial condition is generated once with NumPy from ``seed`` and shared by
all implementations (``x0 ~ N(0, 1)``, ``W0 = w_scale·randn/√N``,
``y0 = x̄0 = 0``), so with ``noise=False`` they must agree to float32
round-off, and with noise their statistics must agree within sampling error.

Implementations (each a factory returning a :class:`Baseline`):

``floor``
    hand-written ``jax.lax.scan`` Euler–Maruyama, vmapped, jitted. The
    increment of step ``k`` for network ``b`` is
    ``jax.random.normal(jax.random.fold_in(key_b, k), (N, N))`` (sleepjax's
    scheme: one key per network, step index folded in).
``numpy_loop``
    batched NumPy loop over ``(B, N, N)`` arrays, one
    ``Generator.standard_normal((B, N, N), dtype=float32)`` per step.
``diffrax_vbt``
    ``diffrax.diffeqsolve`` with ``MultiTerm(ODETerm, ControlTerm)``,
    ``Euler()``, ``VirtualBrownianTree(tol=dt/2)``, vmapped.
``diffrax_ubp``
    the same with ``UnsafeBrownianPath`` and ``DirectAdjoint()`` (diffrax's
    default ``RecursiveCheckpointAdjoint`` refuses an unsafe Brownian path).

For the diffrax baselines the state is the pytree ``(x, y, x̄, W)``. Two ways
to write the noise are offered (``diffusion=``):

``"diagonal"`` (default: what a diffrax user naturally writes)
    a Brownian motion with the structure of the whole state and a
    ``lineax.DiagonalLinearOperator`` diffusion whose diagonal is
    ``(0, 0, 0, η σ·1)``; it draws ``3N`` unused normals per step besides the
    ``N²`` needed ones.
``"w_only"``
    a Brownian motion shaped like ``W`` only and a
    ``lineax.FunctionLinearOperator`` that maps ``dB ↦ (0, 0, 0, η σ dB)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import diffrax
import jax
import jax.numpy as jnp
import lineax
import numpy as np

__all__ = [
    "IMPLEMENTATIONS",
    "Baseline",
    "Params",
    "Stats",
    "check_same_work",
    "diffrax_ubp",
    "diffrax_vbt",
    "floor",
    "initial_state",
    "make",
    "numpy_loop",
]

PrngImpl = Literal["threefry2x32", "rbg", "unsafe_rbg"]
Diffusion = Literal["diagonal", "w_only"]
State = tuple[jax.Array, jax.Array, jax.Array, jax.Array]


@dataclass(frozen=True)
class Params:
    """Model and solver constants of the workload (SPEC.md §1 defaults).

    ``b`` is the decorrelation constant (``b·I`` in ``dW``), not the batch size.
    ``sigma2 = None`` means ``1/N``.
    """

    dt: float = 0.1
    eta: float = 0.01
    b: float = 0.5
    tau_x: float = 20.0
    tau_y: float = 50.0
    sigma2: float | None = None
    w_scale: float = 2.0

    def noise_scale(self, n: int) -> float:
        r"""Per-step standard deviation of the weight increment,
        :math:`\eta\sigma\sqrt{\Delta t}`."""
        return self.eta * self.sigma(n) * float(np.sqrt(self.dt))

    def sigma(self, n: int) -> float:
        r""":math:`\sigma = \sqrt{\sigma^2}`, by default :math:`1/\sqrt N`."""
        s2 = 1.0 / n if self.sigma2 is None else self.sigma2
        return float(np.sqrt(s2))


@dataclass
class Baseline:
    """A prepared solve: call :attr:`run` to time it.

    ``run()`` performs the whole ``n_steps`` solve for ``batch`` networks and
    returns the final ``(x, W)`` with shapes ``(batch, N)`` and
    ``(batch, N, N)``, already computed (JAX results are blocked on). For the
    JAX baselines compilation happens when the baseline is built
    (``compile_s`` records how long it took) and ``compiled`` is the
    ``jax.stages.Compiled`` object (e.g. for ``memory_analysis()``).
    """

    name: str
    n: int
    batch: int
    n_steps: int
    run: Callable[[], tuple[Any, Any]]
    compile_s: float = 0.0
    compiled: Any = None
    info: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Shared initial condition


def initial_state(
    n: int,
    batch: int,
    seed: int,
    params: Params = Params(),
    same_init: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Initial ``(x0, y0, xbar0, W0)`` as float32 NumPy arrays.

    ``x0 ~ N(0, 1)``, ``W0 = w_scale·randn/√N``, ``y0 = xbar0 = 0``, drawn from
    ``np.random.default_rng((seed, 0))`` (a stream distinct from every noise
    stream). With ``same_init=True`` all ``batch`` networks start identically,
    so that their spread at a later time is due to the noise alone.
    """
    rng = np.random.default_rng((seed, 0))
    nb = 1 if same_init else batch
    x0 = rng.standard_normal((nb, n), dtype=np.float32)
    w0 = rng.standard_normal((nb, n, n), dtype=np.float32)
    w0 *= np.float32(params.w_scale / np.sqrt(n))
    if same_init:
        x0 = np.repeat(x0, batch, axis=0)
        w0 = np.repeat(w0, batch, axis=0)
    zeros = np.zeros((batch, n), np.float32)
    return x0, zeros, zeros.copy(), w0


def _drift(state: State, p: Params) -> State:
    r"""Deterministic right-hand side for one network (JAX).

    Returns :math:`(-x + W\phi,\ (\phi-y)/\tau_y,\ (x-\bar x)/\tau_x,\
    \eta(\phi y^\top - y\phi^\top + bI - \tanh(x-\bar x)\phi^\top))`.
    """
    x, y, xbar, w = state
    phi = jnp.tanh(x)
    h = jnp.tanh(x - xbar)
    n = x.shape[-1]
    dx = -x + w @ phi
    dy = (phi - y) / p.tau_y
    dxbar = (x - xbar) / p.tau_x
    dw = p.eta * (
        jnp.outer(phi, y)
        - jnp.outer(y, phi)
        + p.b * jnp.eye(n, dtype=x.dtype)
        - jnp.outer(h, phi)
    )
    return dx, dy, dxbar, dw


def _compile(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``jax.jit(fn)`` lowered and compiled for ``args``; returns (compiled, s)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def _jax_runner(compiled: Any, *args: Any) -> Callable[[], tuple[Any, Any]]:
    def run() -> tuple[Any, Any]:
        return jax.block_until_ready(compiled(*args))

    return run


# ---------------------------------------------------------------------------
# 1. The floor: hand-written lax.scan


def floor(
    n: int,
    batch: int,
    n_steps: int,
    seed: int,
    *,
    impl: PrngImpl = "threefry2x32",
    noise: bool = True,
    params: Params = Params(),
    same_init: bool = False,
    unroll: int = 1,
) -> Baseline:
    r"""Hand-written Euler–Maruyama ``lax.scan``, vmapped over networks, jitted.

    Step ``k`` of network ``b`` (all right-hand sides at the old state):

    .. math::

        x \leftarrow x + \Delta t(-x + W\phi),\quad
        y \leftarrow y + \Delta t(\phi - y)/\tau_y,\quad
        \bar x \leftarrow \bar x + \Delta t(x - \bar x)/\tau_x,\\
        W \leftarrow W + \Delta t\,\eta F + \eta\sigma\sqrt{\Delta t}\,
        \mathrm{normal}(\mathrm{fold\_in}(k_b, k), (N, N)),

    with ``k_b = split(key(seed, impl=impl), batch)[b]``.
    """
    dt = params.dt
    c = params.noise_scale(n)

    def solve_one(state: State, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        def step(s: State, k: jax.Array) -> tuple[State, None]:
            x, y, xbar, w = s
            dx, dy, dxbar, dw = _drift(s, params)
            w = w + dt * dw
            if noise:
                z = jax.random.normal(jax.random.fold_in(key, k), (n, n), w.dtype)
                w = w + c * z
            return (x + dt * dx, y + dt * dy, xbar + dt * dxbar, w), None

        ks = jnp.arange(n_steps, dtype=jnp.uint32)
        (x, _, _, w), _ = jax.lax.scan(step, state, ks, unroll=unroll)
        return x, w

    solve = jax.vmap(solve_one)
    state = tuple(
        jnp.asarray(a) for a in initial_state(n, batch, seed, params, same_init)
    )
    keys = jax.random.split(jax.random.key(seed, impl=impl), batch)
    compiled, compile_s = _compile(solve, state, keys)
    return Baseline(
        name="floor",
        n=n,
        batch=batch,
        n_steps=n_steps,
        run=_jax_runner(compiled, state, keys),
        compile_s=compile_s,
        compiled=compiled,
        info={"impl": impl, "noise": noise, "unroll": unroll},
    )


# ---------------------------------------------------------------------------
# 2. Batched NumPy loop


def numpy_loop(
    n: int,
    batch: int,
    n_steps: int,
    seed: int,
    *,
    noise: bool = True,
    params: Params = Params(),
    same_init: bool = False,
) -> Baseline:
    r"""Batched NumPy Euler–Maruyama loop, float32, in-place updates.

    Uses :math:`\phi y^\top - y\phi^\top - h\phi^\top = \phi y^\top -
    (y + h)\phi^\top` (two batched outer products instead of three) and
    ``np.matmul`` for the batched :math:`W\phi`. Noise comes from
    ``np.random.default_rng((seed, 1)).standard_normal((B, N, N), float32)``,
    one call per step. Each ``run()`` restarts from the same initial state and
    the same noise stream.
    """
    p = params
    f32 = np.float32
    dt, eta = f32(p.dt), f32(p.eta)
    inv_ty, inv_tx = f32(1.0 / p.tau_y), f32(1.0 / p.tau_x)
    dt_eta, b = dt * eta, f32(p.b)
    c = f32(p.noise_scale(n))
    init = initial_state(n, batch, seed, p, same_init)
    diag = np.arange(n)

    def run() -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng((seed, 1))
        x, y, xbar, w = (a.copy() for a in init)
        dw = np.empty_like(w)
        for _ in range(n_steps):
            phi = np.tanh(x)
            h = np.tanh(x - xbar)
            wphi = np.matmul(w, phi[:, :, None])[:, :, 0]
            # dW/η = φ yᵀ - (y + h) φᵀ + b I
            np.multiply(phi[:, :, None], y[:, None, :], out=dw)
            dw -= (y + h)[:, :, None] * phi[:, None, :]
            dw[:, diag, diag] += b
            # y, x̄ and x updates use the old x, φ, y, x̄.
            y += dt * inv_ty * (phi - y)
            xbar += dt * inv_tx * (x - xbar)
            x += dt * (wphi - x)
            dw *= dt_eta
            w += dw
            if noise:
                z = rng.standard_normal((batch, n, n), dtype=f32)
                z *= c
                w += z
        return x, w

    return Baseline(
        name="numpy_loop",
        n=n,
        batch=batch,
        n_steps=n_steps,
        run=run,
        info={"noise": noise},
    )


# ---------------------------------------------------------------------------
# 3./4. diffrax


def _diffrax(
    name: str,
    brownian: Literal["vbt", "ubp"],
    n: int,
    batch: int,
    n_steps: int,
    seed: int,
    *,
    impl: PrngImpl,
    noise: bool,
    params: Params,
    same_init: bool,
    diffusion: Diffusion,
    tol: float | None,
    adjoint: diffrax.AbstractAdjoint | None,
) -> Baseline:
    p = params
    t1 = n_steps * p.dt
    tol = p.dt / 2 if tol is None else tol
    c = p.eta * p.sigma(n)  # dW = ... + η σ dB
    w_struct = jax.ShapeDtypeStruct((n, n), jnp.float32)
    v_struct = jax.ShapeDtypeStruct((n,), jnp.float32)
    if diffusion == "diagonal":
        bm_shape: Any = (v_struct, v_struct, v_struct, w_struct)
    elif diffusion == "w_only":
        bm_shape = w_struct
    else:
        raise ValueError(f"unknown diffusion {diffusion!r}")

    def drift(t: Any, s: State, args: Any) -> State:
        return _drift(s, p)

    def diffusion_diag(t: Any, s: State, args: Any) -> lineax.AbstractLinearOperator:
        x, y, xbar, w = s
        zero = jnp.zeros_like(x)
        return lineax.DiagonalLinearOperator((zero, zero, zero, jnp.full_like(w, c)))

    def diffusion_w(t: Any, s: State, args: Any) -> lineax.AbstractLinearOperator:
        x = s[0]
        zero = jnp.zeros_like(x)
        return lineax.FunctionLinearOperator(
            lambda db: (zero, zero, zero, c * db), w_struct
        )

    vf = diffusion_diag if diffusion == "diagonal" else diffusion_w

    def solve_one(state: State, key: jax.Array) -> tuple[jax.Array, ...]:
        if noise:
            if brownian == "vbt":
                bm: diffrax.AbstractBrownianPath = diffrax.VirtualBrownianTree(
                    0.0, t1, tol=tol, shape=bm_shape, key=key
                )
            else:
                bm = diffrax.UnsafeBrownianPath(shape=bm_shape, key=key)
            terms: Any = diffrax.MultiTerm(
                diffrax.ODETerm(drift), diffrax.ControlTerm(vf, bm)
            )
        else:
            terms = diffrax.ODETerm(drift)
        kw = {} if adjoint is None else {"adjoint": adjoint}
        sol = diffrax.diffeqsolve(
            terms,
            diffrax.Euler(),
            t0=0.0,
            t1=t1,
            dt0=p.dt,
            y0=state,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=n_steps + 16,
            **kw,
        )
        x, _, _, w = sol.ys
        return x[-1], w[-1], sol.stats["num_steps"]

    solve = jax.vmap(solve_one)
    state = tuple(jnp.asarray(a) for a in initial_state(n, batch, seed, p, same_init))
    keys = jax.random.split(jax.random.key(seed, impl=impl), batch)
    compiled, compile_s = _compile(solve, state, keys)

    def run() -> tuple[jax.Array, jax.Array]:
        x, w, _ = jax.block_until_ready(compiled(state, keys))
        return x, w

    def num_steps() -> int:
        return int(np.asarray(compiled(state, keys)[2]).max())

    return Baseline(
        name=name,
        n=n,
        batch=batch,
        n_steps=n_steps,
        run=run,
        compile_s=compile_s,
        compiled=compiled,
        info={
            "impl": impl,
            "noise": noise,
            "diffusion": diffusion,
            "tol": tol if brownian == "vbt" else None,
            "adjoint": type(adjoint).__name__ if adjoint else "default",
            "num_steps": num_steps,
        },
    )


def diffrax_vbt(
    n: int,
    batch: int,
    n_steps: int,
    seed: int,
    *,
    impl: PrngImpl = "threefry2x32",
    noise: bool = True,
    params: Params = Params(),
    same_init: bool = False,
    diffusion: Diffusion = "diagonal",
    tol: float | None = None,
) -> Baseline:
    r"""Naive diffrax: ``Euler`` + ``VirtualBrownianTree``, vmapped over networks.

    ``diffeqsolve(MultiTerm(ODETerm(f), ControlTerm(g, VirtualBrownianTree(0,
    T, tol, shape, key_b))), Euler(), dt0=Δt)`` with ``f`` the drift of the
    module docstring, :math:`g\,\mathrm d\mathcal B = (0, 0, 0,
    \eta\sigma\,\mathrm d\mathcal B_W)` (see ``diffusion``), ``tol = Δt/2`` by
    default, the default ``RecursiveCheckpointAdjoint`` (reverse-mode
    differentiable) and ``SaveAt(t1=True)``. ``info["num_steps"]()`` reports
    the number of steps diffrax actually took.
    """
    return _diffrax(
        "diffrax_vbt",
        "vbt",
        n,
        batch,
        n_steps,
        seed,
        impl=impl,
        noise=noise,
        params=params,
        same_init=same_init,
        diffusion=diffusion,
        tol=tol,
        adjoint=None,
    )


def diffrax_ubp(
    n: int,
    batch: int,
    n_steps: int,
    seed: int,
    *,
    impl: PrngImpl = "threefry2x32",
    noise: bool = True,
    params: Params = Params(),
    same_init: bool = False,
    diffusion: Diffusion = "diagonal",
    adjoint: diffrax.AbstractAdjoint | None = None,
) -> Baseline:
    r"""diffrax ``Euler`` + ``UnsafeBrownianPath``, vmapped over networks.

    As :func:`diffrax_vbt` but the increment over ``[t_k, t_{k+1}]`` is a fresh
    normal draw keyed by the bit patterns of both times. diffrax's default
    ``RecursiveCheckpointAdjoint`` raises ``ValueError`` for an unsafe Brownian
    path, so ``adjoint`` defaults to ``diffrax.DirectAdjoint()`` (forward only;
    ``diffrax.ForwardMode()`` also works).
    """
    return _diffrax(
        "diffrax_ubp",
        "ubp",
        n,
        batch,
        n_steps,
        seed,
        impl=impl,
        noise=noise,
        params=params,
        same_init=same_init,
        diffusion=diffusion,
        tol=None,
        adjoint=diffrax.DirectAdjoint() if adjoint is None else adjoint,
    )


_KWARGS: dict[str, frozenset[str]] = {
    "floor": frozenset({"impl", "unroll"}),
    "numpy_loop": frozenset(),
    "diffrax_vbt": frozenset({"impl", "diffusion", "tol"}),
    "diffrax_ubp": frozenset({"impl", "diffusion", "adjoint"}),
}

IMPLEMENTATIONS: dict[str, Callable[..., Baseline]] = {
    "floor": floor,
    "numpy_loop": numpy_loop,
    "diffrax_vbt": diffrax_vbt,
    "diffrax_ubp": diffrax_ubp,
}


def make(name: str, n: int, batch: int, n_steps: int, seed: int, **kw: Any) -> Baseline:
    """Build the baseline called ``name`` (a key of :data:`IMPLEMENTATIONS`)."""
    return IMPLEMENTATIONS[name](n, batch, n_steps, seed, **kw)


# ---------------------------------------------------------------------------
# Same-work check


@dataclass(frozen=True)
class Stats:
    r"""Final-time statistics of one implementation, with standard errors.

    ``w_mean``/``w_var`` and ``x_mean``/``x_var``: mean and variance of all
    entries pooled over the batch. Their standard errors (``*_se``) are the
    spread of the per-network values across the batch divided by
    :math:`\sqrt{B}`. ``w_spread``/``x_spread``: the variance *across networks*
    of each entry, averaged over entries; with ``same_init=True`` it measures
    the noise alone (for pure diffusion it would be
    :math:`\eta^2\sigma^2 T`). Its standard error treats entries as
    independent: :math:`\mathrm{sd}_{ij}(\cdot)/\sqrt{\#\text{entries}}`.
    """

    w_mean: float
    w_mean_se: float
    w_var: float
    w_var_se: float
    x_mean: float
    x_mean_se: float
    x_var: float
    x_var_se: float
    w_spread: float
    w_spread_se: float
    x_spread: float
    x_spread_se: float
    finite: bool


def _stats(x: np.ndarray, w: np.ndarray) -> Stats:
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64).reshape(w.shape[0], -1)
    nb = x.shape[0]

    def mv(a: np.ndarray) -> tuple[float, float, float, float]:
        m_b, v_b = a.mean(1), a.var(1)
        return (
            float(a.mean()),
            float(m_b.std(ddof=1) / np.sqrt(nb)),
            float(a.var()),
            float(v_b.std(ddof=1) / np.sqrt(nb)),
        )

    def spread(a: np.ndarray) -> tuple[float, float]:
        s = a.var(0, ddof=1)
        return float(s.mean()), float(s.std(ddof=1) / np.sqrt(s.size))

    return Stats(
        *mv(w),
        *mv(x),
        *spread(w),
        *spread(x),
        finite=bool(np.isfinite(w).all() and np.isfinite(x).all()),
    )


def check_same_work(
    n: int = 32,
    batch: int = 16,
    n_steps: int = 200,
    seed: int = 0,
    *,
    names: Sequence[str] = tuple(IMPLEMENTATIONS),
    same_init: bool = True,
    noise: bool = True,
    params: Params = Params(),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    **kw: Any,
) -> dict[str, Stats]:
    """Run each implementation for ``n_steps`` and return its :class:`Stats`.

    All implementations start from the same initial condition
    (:func:`initial_state`); by default every network of the batch starts
    identically (``same_init=True``), so ``w_spread`` isolates the noise and
    is a sharp check of its amplitude. Different implementations use
    different random streams, so their statistics should agree within a few
    combined standard errors, not exactly. Extra keywords go to the JAX
    factories that accept them (e.g. ``impl=``, ``diffusion=``) and are
    ignored by the others; ``options[name]`` adds keywords for one
    implementation only (e.g. ``{"diffrax_vbt": {"diffusion": "w_only"}}``).
    """
    out: dict[str, Stats] = {}
    for name in names:
        accepted = _KWARGS[name]
        fkw = {k: v for k, v in kw.items() if k in accepted}
        fkw.update((options or {}).get(name, {}))
        bl = make(
            name,
            n,
            batch,
            n_steps,
            seed,
            noise=noise,
            params=params,
            same_init=same_init,
            **fkw,
        )
        x, w = bl.run()
        out[name] = _stats(np.asarray(x), np.asarray(w))
    return out
