"""Krotov & Hopfield (2020) and the classical binary network: targets K1-K4,
an independent NumPy transcription, and bad input.

- K1: the energy never increases along trajectories: exactly (dE/dt at
  random states equals −τ_f v̇ᵀH_v v̇ − τ_h ḣᵀH_h ḣ ≤ 0) and along Euler runs
  of models A and B; the binary asynchronous map lowers E at every sweep.
- K2: the two-layer network and its reduced one-layer dynamics (τ_h → 0)
  end at the same fixed points.
- K3: the classical capacity: the 50 % crossing of the retrieval fraction
  against the load, from a sweep, agrees with an independent NumPy
  simulation at the same N (≈ 0.21 at N = 100, above the N → ∞ value 0.138:
  the finite-N shift).
- K4: at large β one Euler step (dt = τ_f) of model B from a corrupted
  memory returns it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax.cli import main
from sleepjax.config import ConfigError, parse
from sleepjax.dynamics import (
    BinaryHopfield,
    LogSumExpLagrangian,
    PolynomialLagrangian,
    QuadraticLagrangian,
    TwoLayerHopfield,
)
from sleepjax.models.hopfield import crossing, retrieval_curve
from sleepjax.sweep import sweep, validate_sweep


# ------------------------------------------------- the NumPy transcription
def np_sign_keep(field, current):
    return np.where(field > 0, 1.0, np.where(field < 0, -1.0, current))


def np_hebbian(xi):
    """W = (1/N) Σ ξξᵀ, zero diagonal."""
    W = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def np_binary(W, s, orders=None, steps=1):
    """`steps` sweeps: synchronous (orders None) or neuron by neuron in
    orders[k]."""
    s = s.copy()
    for k in range(steps):
        if orders is None:
            s = np_sign_keep(W @ s, s)
        else:
            for i in orders[k]:
                s[i] = np_sign_keep(W[i] @ s, s[i])
    return s


def np_lagrangian(kind, x, power=3, rectified=True, beta=1.0):
    """(L(x), ∂L/∂x) of the three Lagrangians."""
    if kind == "quadratic":
        return 0.5 * x @ x, x
    if kind == "poly":
        b = np.maximum(x, 0.0) if rectified else x
        return np.sum(b**power) / power, b ** (power - 1)
    z = beta * x
    mx = z.max()
    lse = (mx + np.log(np.sum(np.exp(z - mx)))) / beta
    p = np.exp(z - mx)
    return lse, p / p.sum()


def np_two_layer(xi, tau_f, tau_h, inp, v, h, kind, **kw):
    """(dv/dt, dh/dt, E) of Krotov & Hopfield's two-layer network."""
    Lv, g = np_lagrangian("quadratic", v)
    Lh, f = np_lagrangian(kind, h, **kw)
    dv = (xi.T @ f - v + inp) / tau_f
    dh = (xi @ g - h) / tau_h
    E = ((v - inp) @ g - Lv) + (h @ f - Lh) - f @ xi @ g
    return dv, dh, E


def np_capacity(n, loads, trials, rng, sweeps=20, threshold=0.95):
    """Fraction of networks (async, started at memory 0) whose final overlap
    is ≥ threshold, per number of memories in `loads`; integer fields."""
    out = []
    for m in loads:
        xi = rng.choice([-1, 1], size=(trials, m, n))
        C = np.einsum("bmi,bmj->bij", xi, xi)
        C[:, np.arange(n), np.arange(n)] = 0
        s = xi[:, 0].copy()
        rows = np.arange(trials)
        for _ in range(sweeps):
            order = np.argsort(rng.random((trials, n)), axis=1)
            for k in range(n):
                i = order[:, k]
                h = np.einsum("bj,bj->b", C[rows, i], s)
                s[rows, i] = np.where(h > 0, 1, np.where(h < 0, -1, s[rows, i]))
        overlap = np.einsum("bi,bi->b", s, xi[:, 0]) / n
        out.append(np.mean(overlap >= threshold))
    return np.array(out)


def _memories(key, m, n, unit=True):
    xi = jr.rademacher(key, (m, n), dtype=jnp.result_type(float))
    return xi / np.sqrt(n) if unit else xi


def _flip(key, x, fraction):
    flip = jr.permutation(key, x.shape[0]) < round(fraction * x.shape[0])
    return jnp.where(flip, -x, x)


def _net(xi, kind, tau_h=0.5, input=None, **kw):
    lag = (
        LogSumExpLagrangian(kw["beta"])
        if kind == "lse"
        else PolynomialLagrangian(kw.get("power", 3), kw.get("rectified", True))
    )
    return TwoLayerHopfield(xi, 1.0, tau_h, QuadraticLagrangian(), lag, input=input)


# ------------------------------------------------------ against NumPy (1e-10)
@pytest.mark.parametrize("update", ["asynchronous", "synchronous"])
def test_binary_map_matches_numpy(x64, update):
    n, m, steps = 64, 6, 4
    xi = np.asarray(_memories(jr.key(1), m, n, unit=False))
    s0 = np.asarray(_flip(jr.key(2), jnp.asarray(xi[0]), 0.3))
    net = BinaryHopfield.from_patterns(xi, update)
    np.testing.assert_allclose(np.asarray(net.weights), np_hebbian(xi), atol=1e-15)
    key = jr.key(7)
    sim = sj.iterate(net, jnp.asarray(s0), t0=0.0, t1=float(steps), dt=1.0, key=key)
    orders = None
    if update == "asynchronous":  # the same draws: key_k = fold_in(key, k)
        orders = [np.asarray(jr.permutation(jr.fold_in(key, k), n)) for k in range(4)]
    ref = np_binary(np_hebbian(xi), s0, orders, steps)
    assert np.max(np.abs(np.asarray(sim.final) - ref)) <= 1e-10
    assert not np.array_equal(ref, s0)  # the dynamics did something
    E = float(net.energy(sim.final))
    assert abs(E - (-0.5 * ref @ np_hebbian(xi) @ ref)) <= 1e-10


@pytest.mark.parametrize(
    "kind, kw",
    [("poly", {"power": 3}), ("poly", {"power": 2, "rectified": False}),
     ("lse", {"beta": 7.5})],
)  # fmt: skip
def test_two_layer_drift_and_energy_match_numpy(x64, kind, kw):
    n, m = 40, 7
    k1, k2, k3, k4 = jr.split(jr.key(3), 4)
    xi = np.asarray(_memories(k1, m, n))
    v = np.asarray(jr.normal(k2, (n,))) * 0.5
    h = np.asarray(jr.normal(k3, (m,))) * 0.5
    inp = np.asarray(jr.normal(k4, (n,))) * 0.1
    net = _net(jnp.asarray(xi), kind, tau_h=0.3, input=jnp.asarray(inp), **kw)
    y = sj.dynamics.HopfieldState(v=jnp.asarray(v), h=jnp.asarray(h))
    d = net.drift(0.0, y)
    dv, dh, E = np_two_layer(xi, 1.0, 0.3, inp, v, h, kind, **kw)
    assert np.max(np.abs(np.asarray(d.v) - dv)) <= 1e-10
    assert np.max(np.abs(np.asarray(d.h) - dh)) <= 1e-10
    assert abs(float(net.energy(y)) - E) <= 1e-10
    # reduced dynamics: h = ξ g(v)
    red = net.reduced()
    dv_r, _, E_r = np_two_layer(xi, 1.0, 0.3, inp, v, xi @ v, kind, **kw)
    assert np.max(np.abs(np.asarray(red.drift(0.0, jnp.asarray(v))) - dv_r)) <= 1e-10
    assert abs(float(red.energy(jnp.asarray(v))) - E_r) <= 1e-10


def test_unrectified_square_is_the_classical_energy(x64):
    """F(x) = x²/2: the reduced energy is ½|v|² − ½ vᵀWv − v·I, W = ξᵀξ."""
    xi = _memories(jr.key(20), 5, 30)
    inp = 0.1 * xi[2]
    net = _net(xi, "poly", power=2, rectified=False, input=inp).reduced()
    v = jr.normal(jr.key(21), (30,))
    W = xi.T @ xi
    E = 0.5 * v @ v - 0.5 * v @ W @ v - v @ inp
    assert abs(float(net.energy(v) - E)) <= 1e-12
    np.testing.assert_allclose(net.drift(0.0, v), W @ v - v + inp, atol=1e-12)


def test_neuron_noise_enters_v_only(x64):
    """noise_shape mirrors the state with None at h: one Euler-Maruyama step
    changes v by σ ΔB (std σ√dt) and leaves h as without noise."""
    from sleepjax import NeuronNoise

    n, dt, sigma = 400, 0.01, 0.3
    xi = _memories(jr.key(22), 4, n)
    quiet = _net(xi, "lse", beta=10.0)
    noisy = TwoLayerHopfield(
        xi, 1.0, 0.5, QuadraticLagrangian(), LogSumExpLagrangian(10.0),
        noise=NeuronNoise(sigma),
    )  # fmt: skip
    y0 = quiet.init(_flip(jr.key(23), xi[0], 0.2))
    shape = noisy.noise_shape(y0)
    assert shape.h is None and shape.v.shape == (n,)
    a = sj.simulate(quiet, y0, t0=0.0, t1=dt, dt=dt).final
    b = sj.simulate(noisy, y0, t0=0.0, t1=dt, dt=dt, key=jr.key(24)).final
    np.testing.assert_array_equal(a.h, b.h)
    z = np.asarray(b.v - a.v) / (sigma * np.sqrt(dt))
    assert abs(z.std() - 1.0) < 0.1 and abs(z.mean()) < 0.15


# ------------------------------------------------------------------------ K1
def _hessian_form(lag, x, dx):
    """dxᵀ H dx for the Lagrangian's Hessian at x."""
    return jnp.vdot(dx, jax.jvp(lag.activation, (x,), (dx,))[1])


@pytest.mark.parametrize("kind", ["poly", "lse"])
def test_K1_energy_derivative_is_minus_hessian_forms(x64, kind):
    """dE/dt = ∇E·f = −τ_f v̇ᵀH_v v̇ − τ_h ḣᵀH_h ḣ ≤ 0 at random states."""
    n, m = 30, 5
    xi = _memories(jr.key(4), m, n)
    net = _net(xi, kind, tau_h=0.4, input=0.1 * xi[1], beta=12.0)

    @jax.jit
    @jax.vmap
    def check(key):
        kv, kh = jr.split(key)
        y = sj.dynamics.HopfieldState(
            v=jr.normal(kv, (n,)) * 0.4, h=jr.normal(kh, (m,)) * 0.4
        )
        f = net.drift(0.0, y)
        dEdt = jax.jvp(net.energy, (y,), (f,))[1]
        forms = net.tau_f * _hessian_form(net.lagrangian_v, y.v, f.v)
        forms += net.tau_h * _hessian_form(net.lagrangian_h, y.h, f.h)
        return dEdt, forms

    dEdt, forms = map(np.asarray, check(jr.split(jr.key(100), 20)))
    rel = np.max(np.abs(dEdt + forms) / np.maximum(1.0, forms))
    print(f"K1 {kind}: max dE/dt = {dEdt.max():.2e}, identity error {rel:.1e}")
    assert np.all(np.abs(dEdt + forms) <= 1e-10 * np.maximum(1.0, forms))
    assert np.all(dEdt <= 1e-12) and np.all(forms > 1e-3)


@pytest.mark.parametrize("kind", ["poly", "lse"])
def test_K1_energy_non_increasing_along_trajectories(x64, kind):
    import diffrax

    n, m = 64, 6
    xi = _memories(jr.key(5), m, n)
    net = _net(xi, kind, beta=20.0)
    y0 = net.init(_flip(jr.key(6), xi[0], 0.25))
    ts = jnp.linspace(0.0, 10.0, 1001)
    sim = sj.simulate(
        net, y0, t0=0.0, t1=10.0, dt=0.01,
        saveat=diffrax.SaveAt(ts=ts, fn=lambda t, y, mdl: mdl.energy(y)),
    )  # fmt: skip
    E = np.asarray(sim.ys)
    drop = E[0] - E[-1]
    rise = np.max(np.diff(E))
    print(f"K1 {kind}: E {E[0]:.4f} -> {E[-1]:.4f}, largest step {rise:.2e}")
    assert drop > 0.1
    assert rise <= 1e-12 * drop


def test_K1_binary_async_energy_non_increasing():
    n, m, sweeps = 64, 8, 6
    xi = _memories(jr.key(8), m, n, unit=False)
    net = BinaryHopfield.from_patterns(xi)
    import diffrax

    def run(key):
        s0 = _flip(key, xi[0], 0.35)
        save = diffrax.SaveAt(
            ts=jnp.arange(sweeps + 1.0), fn=lambda t, s, mdl: mdl.energy(s)
        )
        return sj.iterate(net, s0, t0=0.0, t1=sweeps, dt=1.0, key=key, saveat=save).ys

    E = np.asarray(jax.vmap(run)(jr.split(jr.key(9), 16)))
    assert np.all(np.diff(E, axis=1) <= 0.0)  # integer fields: exact in float32
    assert np.all(E[:, -1] < E[:, 0])


# ------------------------------------------------------------------------ K2
def _run_to_rest(system, y0, t1=150.0, dt=0.01):
    sim = sj.simulate(system, y0, t0=0.0, t1=t1, dt=dt)
    return sim.final


@pytest.mark.parametrize("kind", ["poly", "lse"])
def test_K2_full_and_reduced_reach_the_same_fixed_points(x64, kind):
    """Model B from corrupted cues; model A (power 3) with input I = 0.2 ξ⁰, whose
    stable fixed point has overlap a = (1 − √0.2)/2 ≈ 0.276 with ξ⁰ (from
    a = 0.2 + a²)."""
    n, m = 64, 6
    xi = _memories(jr.key(10), m, n)
    finals = []
    for tau_h in (2.0, 0.1):
        for j, c in enumerate((0.2, 0.3)):
            if kind == "lse":
                net = _net(xi, kind, tau_h=tau_h, beta=20.0)
                v0 = _flip(jr.key(11 + j), xi[j], c)
            else:
                net = _net(xi, kind, tau_h=tau_h, input=0.2 * xi[0])
                v0 = net.input + 0.05 * _flip(jr.key(11 + j), xi[1], c)
            full = _run_to_rest(net, net.init(v0))
            red = _run_to_rest(net.reduced(), v0)
            gap = float(jnp.max(jnp.abs(full.v - red)))
            rest = max(
                float(jnp.max(jnp.abs(net.reduced().drift(0.0, red)))),
                *(
                    float(jnp.max(jnp.abs(d)))
                    for d in jax.tree.leaves(net.drift(0.0, full))
                ),
            )
            print(f"K2 {kind} tau_h={tau_h} cue {j}: |v_full - v_red| = {gap:.1e}")
            assert gap <= 1e-6 and rest <= 1e-8
            np.testing.assert_allclose(full.h, xi @ full.v, atol=1e-6)
            finals.append(np.asarray(red))
    ov = np.asarray(xi) @ finals[0]
    if kind == "lse":  # the cued memory is the fixed point
        assert ov[0] > 0.99 and abs(np.asarray(xi) @ finals[1])[1] > 0.99
    else:
        assert abs(ov[0] - (1 - np.sqrt(0.2)) / 2) < 0.02


# ------------------------------------------------------------------------ K4
def test_K4_one_step_of_model_b_returns_the_memory(x64):
    """v ← ξᵀ softmax(β ξ v): one Euler step dt = τ_f of the two-layer model B
    from h = ξ v. At β = 100 every memory comes back from 25 % flipped
    entries (|v − ξ^μ| < 1e-3, no sign wrong); at β = 1 it does not."""
    n, m = 64, 8
    xi = _memories(jr.key(12), m, n)
    for beta, returns in ((100.0, True), (1.0, False)):
        net = _net(xi, "lse", beta=beta)
        for mu in range(m):
            v0 = _flip(jr.fold_in(jr.key(13), mu), xi[mu], 0.25)
            sim = sj.simulate(net, net.init(v0), t0=0.0, t1=1.0, dt=1.0)
            v1 = np.asarray(sim.final.v)
            x = np.asarray(xi)
            z = beta * x @ np.asarray(v0)
            p = np.exp(z - z.max())
            np.testing.assert_allclose(v1, x.T @ (p / p.sum()), atol=1e-10)
            err = np.max(np.abs(v1 - x[mu])) * np.sqrt(n)  # in units of an entry
            ok = err < 1e-3 and np.array_equal(np.sign(v1), np.sign(x[mu]))
            if mu == 0:
                print(f"K4 beta={beta:g}: max |v1 - xi| x sqrt(N) = {err:.1e}")
            assert ok == returns, (beta, mu, err)


def test_K4_through_the_retrieval_protocol():
    raw = {
        "model": {"name": "hopfield", "network": "model_b", "n": 64,
                  "n_patterns": 8, "beta": 100.0, "dt": 1.0, "tau_f": 1.0},
        "protocol": {"name": "retrieval", "corruption": 0.25, "t_end": 1.0,
                     "save_every": 1.0},
        "sweep": {"seeds": 8},
    }  # fmt: skip
    res = sweep(parse(raw), None, quiet=True)
    assert np.all(res.status == 0)
    assert np.allclose(res.read("overlap")[:, 0], 0.5)  # 25 % flipped
    assert np.all(np.abs(res.read("overlap")[:, -1] - 1) < 1e-3)
    assert np.all(res.read("wrong")[:, -1] == 0)


# ------------------------------------------------------------------------ K3
LOADS = (12, 16, 20, 24, 28)  # N = 100: α = 0.12 ... 0.28


def test_K3_classical_capacity_crossing():
    """Retrieval fraction (final overlap ≥ 0.95 after 20 asynchronous sweeps
    from a stored memory) against α = M/N at N = 100, 48 seeds per load.

    Tolerance: near the crossing the fraction falls by about 9 per unit α, and
    its binomial standard error is ≤ 0.072 (48 networks) and ≤ 0.035 (200 in
    the NumPy reference), so the crossings' difference has a standard error
    of about 0.009: we allow 0.03 (> 3σ). The crossing must also lie above
    the N → ∞ value 0.138 (finite-N shift up; ≈ 0.138 + 0.7/√N from the
    reference at N = 100, 400, 1000)."""
    raw = {
        "model": {"name": "hopfield", "network": "binary_async", "n": 100},
        "protocol": {"name": "capacity", "t_end": 20.0, "save_every": 20.0},
        "sweep": {"seeds": 48, "grid": {"model.n_patterns": list(LOADS)}},
    }
    res = sweep(parse(raw), None, quiet=True)
    assert np.all(res.status == 0)
    alpha = res.read("model.n_patterns") / 100
    xs, frac, *_ = retrieval_curve(alpha, res.read("retrieved")[:, -1] > 0.5)
    a_lib = crossing(xs, frac)
    ref = np_capacity(100, LOADS, 200, np.random.default_rng(0))
    a_ref = crossing(np.array(LOADS) / 100, ref)
    print(f"K3: alpha_50 library {a_lib:.3f}, NumPy {a_ref:.3f}; {frac} vs {ref}")
    assert abs(a_lib - a_ref) <= 0.03
    assert 0.138 < a_lib < 0.138 + 0.12
    assert frac[0] > 0.85 and frac[-1] < 0.3  # it does cross


@pytest.mark.slow
def test_K3_crossing_moves_towards_0138_with_n():
    """N = 400 (the reference gives α_50 ≈ 0.175): closer to 0.138 than N = 100."""
    loads = (52, 60, 68, 76, 84)
    raw = {
        "model": {"name": "hopfield", "network": "binary_async", "n": 400},
        "protocol": {"name": "capacity", "t_end": 20.0, "save_every": 20.0},
        "sweep": {"seeds": 48, "grid": {"model.n_patterns": list(loads)}},
    }
    res = sweep(parse(raw), None, quiet=True)
    xs, frac, *_ = retrieval_curve(
        res.read("model.n_patterns") / 400, res.read("retrieved")[:, -1] > 0.5
    )
    a = crossing(xs, frac)
    print(f"K3 N=400: alpha_50 = {a:.3f}")
    assert abs(a - 0.175) <= 0.02


# ----------------------------------------------------------------- bad input
BASE = {"model": {"name": "hopfield", "n": 32}, "protocol": {"name": "retrieval"}}


def _with(section, **kw):
    raw = {k: dict(v) for k, v in BASE.items()}
    raw[section].update(kw)
    return raw


BAD = {
    "unknown key": (
        _with("model", n_pattern=8),
        r"unknown \[model\] key 'n_pattern' \(did you mean 'n_patterns'\?\)",
    ),
    "unknown network": (
        _with("model", network="model_c"),
        r"\[model\] network 'model_c' \(did you mean 'model_[ab]'\?\)",
    ),
    "corruption outside [0, 1]": (
        _with("protocol", corruption=1.5),
        r"\[protocol\] corruption must be in \[0, 1\]",
    ),
    "negative tau_f": (_with("model", tau_f=-1.0), r"\[model\] tau_f must be > 0"),
    "too few memories": (_with("model", n_patterns=1), r"n_patterns must be an"),
    "odd unrectified power": (
        _with("model", power=3, rectified=False),
        r"power.* convex only for even n",
    ),
    "save_every off the grid": (
        _with("model", network="model_b")
        | {"protocol": {"name": "retrieval", "save_every": 0.125}},
        r"save_every = 0.125 is not a whole number of steps",
    ),  # fmt: skip
    "energy of a binary network": (
        _with("protocol", name="energy"),
        r"energy protocol runs the two-layer networks",
    ),
}
UNUSED = {
    "beta with the binary network": (_with("model", beta=5.0), "beta"),
    "beta with model A": (_with("model", network="model_a", beta=5.0), "beta"),
    "noise without neuron_noise": (_with("model", network="model_b", noise=0.1),
                                   "noise"),
    "tau_h swept for the binary network": (
        BASE | {"sweep": {"grid": {"model.tau_h": [0.5, 1.0]}}}, "tau_h"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_refused_by_parse(case):
    raw, match = BAD[case]
    with pytest.raises(ConfigError, match=match):
        parse(raw)


@pytest.mark.parametrize("case", sorted(UNUSED))
def test_unused_parameter_is_refused(case):
    """`parse` accepts the config (it does not trace the data flow);
    `validate_sweep`, the first step of `sleepjax run`, refuses it."""
    raw, name = UNUSED[case]
    cfg = parse(raw)
    with pytest.raises(ConfigError, match=rf"\[model\] {name} is .* not used"):
        validate_sweep(cfg)


def test_used_parameters_are_accepted():
    ok = _with("model", network="model_b", beta=5.0, tau_h=0.2, tau_f=2.0)
    validate_sweep(parse(ok))
    noisy = _with("model", network="model_a", neuron_noise=True, noise=0.1)
    validate_sweep(parse(noisy))


def _toml(raw) -> str:
    lines = []
    for sec, vals in raw.items():
        lines.append(f"[{sec}]")
        for k, v in vals.items():
            if isinstance(v, dict):
                inner = ", ".join(f'"{a}" = {b!r}' for a, b in v.items())
                lines.append(f"{k} = {{ {inner} }}")
            else:
                val = str(v).lower() if isinstance(v, bool) else repr(v)
                lines.append(f"{k} = {val}".replace("'", '"'))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "raw, match",
    [BAD["unknown key"], BAD["corruption outside [0, 1]"],
     (UNUSED["beta with the binary network"][0], "beta")],
)  # fmt: skip
def test_bad_config_through_the_cli_writes_nothing(tmp_path, capsys, raw, match):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(_toml(raw))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert pytest.importorskip("re").search(match, capsys.readouterr().err)
    assert not out.exists()


# ------------------------------------------------------------ examples, CLI
EXAMPLES = ("hopfield_energy", "hopfield_capacity", "hopfield_basins")


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_are_valid(name):
    from pathlib import Path

    from sleepjax.config import load

    root = Path(__file__).resolve().parents[1]
    plan = validate_sweep(load(root / "examples" / f"{name}.toml"))
    assert plan.n_networks >= 16


def test_basins_run_draws_figure_and_summary(tmp_path):
    """A small basins sweep through the CLI: the corruption is vmapped (one
    compiled group), the report marks the basin radius."""
    raw = {
        "model": {"name": "hopfield", "n": 64, "n_patterns": 4},
        "protocol": {"name": "basins", "t_end": 5.0, "save_every": 1.0},
        "sweep": {"seeds": 4, "grid": {"protocol.corruption": [0.0, 0.2, 0.45]}},
    }
    assert len(validate_sweep(parse(raw)).groups) == 1
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(_toml(raw))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert (out / "figure.png").stat().st_size > 10_000
    summary = (out / "summary.txt").read_text()
    assert "radius" in summary and "0.450" in summary
    rows = [r for r in summary.splitlines() if r.startswith("α = 0.0625  0.000")]
    assert rows and "4/4" in rows[0]  # an uncorrupted cue at α = 1/16 stays
