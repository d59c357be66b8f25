"""sleepjax against an independent NumPy implementation of Susman et al. (2019).

The reference below is written from the equations of SPEC.md §1, not from
sleepjax: Euler–Maruyama on

    dx = (−x + W φ + b) dt,                φ = tanh(x)
    dW = η (Δ_L + Δ_F) dt + η σ dB_W,      σ = 1/√N
    Δ_L = φ yᵀ − y φᵀ,  τ_y dy = (φ − y) dt                 (antisymmetric)
        | a_P φ y_Pᵀ + a_D y_D φᵀ (kernel convention, a_D < 0 depresses)
    Δ_F = −βW | [(φ0 − φ) φᵀ] W (matmul) | (φ0 − φ) φᵀ ∘ W (hadamard)
        | B·I − tanh(x − x̄) tanh(x)ᵀ,  τ_x dx̄ = (x − x̄) dt (lowpass) | x̄ = c x
    ds = −ζ s dt + σ_s dB_s,  b = A (s_1 u + s_2 v) for t_on < t ≤ t_off

with the memory 5(uvᵀ − vuᵀ) or 5uuᵀ added at the end of the step that reaches
t_insert. Both sides get the same Wiener increments, taken from sleepjax's
FoldInBrownianPath built from the key given to `simulate` (what `simulate`
does), and the same initial state, planes and targets (taken from the
Experiment). Float64, a few hundred steps; final W and x agree to 1e-8.
"""

from __future__ import annotations

import jax
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax.models import susman

pytestmark = pytest.mark.usefixtures("x64_module")

N, DT = 16, 0.1
T_INSERT, T_END = 10.0, 30.0
WINDOW = (5.05, 25.05)  # off the step grid: no ambiguity at the window edges


def _step_times(t0, t1, dt):
    """Start times of the fixed steps, computed as diffrax does (a fraction of
    the interval, not a running sum), so that schedule breakpoints on the grid
    are resolved identically."""
    n = round((t1 - t0) / dt)
    ts = [t0, t0 + dt] + [t0 + (t1 - t0) * (np.float64(k) / n) for k in range(2, n)]
    return np.array(ts[:n]), n


def numpy_reference(cfg, x, W, dB_W, dB_s=None):
    """Euler–Maruyama of SPEC §1 in NumPy. `cfg` holds the switches and numbers;
    dB_W: (steps, N, N) weight increments; dB_s: (steps, 2) stimulus increments.
    Returns the final (x, W)."""
    x, W = x.copy(), W.copy()
    n = x.shape[0]
    eta, dt = cfg["eta"], cfg["dt"]
    sigma = cfg["noise"] / np.sqrt(n)
    y = np.zeros(n)  # antisymmetric STDP trace
    y_p, y_d = np.zeros(n), np.zeros(n)  # asymmetric STDP traces
    xbar = np.zeros(n)
    s = np.zeros(2)
    ts, steps = _step_times(0.0, cfg["t_end"], dt)
    for k in range(steps):
        t = ts[k]
        phi = np.tanh(x)
        b = np.zeros(n)
        stim = cfg.get("stimulus")
        if stim is not None and stim["t_on"] < t <= stim["t_off"]:
            b = stim["A"] * (s[0] * stim["u"] + s[1] * stim["v"])
        dx = -x + W @ phi + b
        # homeostasis Δ_F (without the noise ξ)
        if cfg["rule"] == "dissipation":
            dF = -cfg["beta"] * W
        elif cfg["rule"] == "rate_control":
            err = np.outer(cfg["phi0"] - phi, phi)
            dF = err @ W if cfg["rate_control"] == "matmul" else err * W
        else:
            xb = xbar if cfg["xbar"] == "lowpass" else cfg["code_factor"] * x
            dF = cfg["b"] * np.eye(n) - np.outer(np.tanh(x - xb), np.tanh(x))
        # rate STDP Δ_L, switched on at cfg["stdp_on"]
        dL = np.zeros_like(W)
        gain = 1.0 if t >= cfg.get("stdp_on", -np.inf) else 0.0
        if cfg.get("stdp") == "antisymmetric":
            dL = gain * (np.outer(phi, y) - np.outer(y, phi))
        elif cfg.get("stdp") == "asymmetric":
            dL = gain * (
                cfg["a_P"] * np.outer(phi, y_p) + cfg["a_D"] * np.outer(y_d, phi)
            )
        # noise: a Wiener increment (sde) or η dt σ z with z = dB/√dt (code)
        if cfg["noise_form"] == "sde":
            xi = sigma * dB_W[k]
        else:
            xi = sigma * dt * dB_W[k] / np.sqrt(dt)
        W_new = W + dt * eta * (dL + dF) + eta * xi
        x_new = x + dt * dx
        y = y + dt * (phi - y) / cfg["tau_y"]
        y_p = y_p + dt * (phi - y_p) / cfg["tau_P"]
        y_d = y_d + dt * (phi - y_d) / cfg["tau_D"]
        xbar = xbar + dt * (x - xbar) / cfg["tau_x"]
        if stim is not None:
            s = s - dt * stim["zeta"] * s + stim["sigma"] * dB_s[k]
        x, W = x_new, W_new
        t_next = ts[k + 1] if k + 1 < steps else cfg["t_end"]
        if "insert" in cfg and abs(t_next - cfg["insert"][0]) < dt / 2:
            W = W + cfg["insert"][1]
    return x, W


def _cfg_from(opts, p, t_end):
    return dict(
        eta=float(p.eta),
        dt=opts.dt,
        noise=float(p.noise),
        rule=opts.rule,
        rate_control=opts.rate_control,
        xbar=opts.xbar,
        noise_form=opts.noise_form,
        beta=float(p.beta),
        b=float(p.b),
        tau_x=float(p.tau_x),
        code_factor=float(p.code_factor),
        tau_y=float(p.tau_y),
        a_P=float(p.a_P),
        a_D=float(p.a_D),
        tau_P=float(p.tau_P),
        tau_D=float(p.tau_D),
        t_end=t_end,
    )


def _homeostasis_of(model):
    rule = model.plasticity
    if isinstance(rule, sj.plasticity.SumRule):
        rule = rule.rules[-1]
    return rule


@jax.jit
def _run(exp, key):
    """The protocol's final state (`simulate` with the Experiment's model,
    state, events and key; no observables) and the Wiener increments of the
    path that `simulate` builds from `key`."""
    sim = sj.simulate(
        exp.model,
        exp.state0,
        t0=exp.t0,
        t1=exp.t1,
        dt=exp.dt,
        key=key,
        events=exp.events,
    )
    shape = exp.model.noise_shape(exp.state0)
    steps = round((exp.t1 - exp.t0) / exp.dt)
    dB = sj.FoldInBrownianPath(shape, key, exp.t0, exp.dt).increments(steps)
    return sim.final, sim.status, dB


def _compare(exp, cfg, key, increments_stimulus=False):
    """Run the Experiment and the NumPy reference on the same increments."""
    final, status, dB = _run(exp, key)
    assert int(status) == 0
    assert dB.neurons is None
    dB_s = np.asarray(dB.stimulus[0]) if increments_stimulus else None
    x_ref, W_ref = numpy_reference(
        cfg,
        np.asarray(exp.state0.neurons),
        np.asarray(exp.state0.W),
        np.asarray(dB.W),
        dB_s,
    )
    x, W = np.asarray(final.neurons), np.asarray(final.W)
    assert x.dtype == np.float64 and W.dtype == np.float64
    # The run did something: W moved away from its start by much more than 1e-8.
    assert np.linalg.norm(W - np.asarray(exp.state0.W)) > 1e-2 * np.linalg.norm(W)
    np.testing.assert_allclose(W, W_ref, rtol=0, atol=1e-8 * np.abs(W_ref).max())
    np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-8 * np.abs(x_ref).max())
    return x, W, dB


EROSION_CASES = [
    # (rule, variant options, code, noise form, stdp after insertion)
    ("dissipation", {}, "imaginary", "sde", False),
    ("dissipation", {}, "real", "code", False),
    ("dissipation", {}, "imaginary", "sde", True),
    ("rate_control", {"rate_control": "matmul"}, "real", "sde", False),
    ("rate_control", {"rate_control": "hadamard"}, "imaginary", "sde", False),
    ("decorrelation", {"xbar": "lowpass"}, "imaginary", "sde", False),
    ("decorrelation", {"xbar": "code"}, "real", "sde", False),
]


@pytest.mark.parametrize(
    "rule, variant, code, form, stdp", EROSION_CASES, ids=lambda v: str(v)
)
def test_erosion_matches_numpy(rule, variant, code, form, stdp):
    opts = susman.SusmanOptions(n=N, rule=rule, dt=DT, noise_form=form, **variant)
    p = susman.SusmanParams()
    key = jr.key(11)
    exp = susman.erosion(
        opts,
        p,
        key,
        code=code,
        t_insert=T_INSERT,
        t_end=T_END,
        save_every=T_END,
        stdp_after_insert=stdp,
    )
    cfg = _cfg_from(opts, p, T_END)
    u, v = np.asarray(exp.observe.planes[0])
    delta = 5.0 * (
        np.outer(u, u) if code == "real" else np.outer(u, v) - np.outer(v, u)
    )
    cfg["insert"] = (T_INSERT, delta)
    if rule == "rate_control":
        cfg["phi0"] = np.asarray(_homeostasis_of(exp.model).phi0)
    if stdp:
        cfg["stdp"], cfg["stdp_on"] = "antisymmetric", T_INSERT
    _compare(exp, cfg, jr.key(12))


@pytest.mark.parametrize(
    "rule, stdp",
    [("rate_control", "antisymmetric"), ("decorrelation", "asymmetric")],
)
def test_learning_matches_numpy(rule, stdp):
    """Learning protocol: OU plane stimulus in a window (its noise is part of
    the Brownian path), STDP always on, homeostasis, weight noise."""
    opts = susman.SusmanOptions(n=N, rule=rule, dt=DT, stdp=stdp)
    p = susman.SusmanParams(a_P=1.0, a_D=-0.6, tau_P=20.0, tau_D=40.0, tau_y=30.0)
    exp = susman.learning(opts, p, jr.key(21), window=WINDOW, t_end=T_END)
    cfg = _cfg_from(opts, p, T_END)
    cfg["stdp"] = stdp
    if rule == "rate_control":
        cfg["phi0"] = np.asarray(_homeostasis_of(exp.model).phi0)
    u, v = np.asarray(exp.observe.planes[0])
    cfg["stimulus"] = dict(
        A=float(p.amplitude),
        u=u,
        v=v,
        t_on=WINDOW[0],
        t_off=WINDOW[1],
        zeta=float(p.zeta),
        sigma=np.sqrt(0.1),
    )
    x, W, dB = _compare(exp, cfg, jr.key(22), increments_stimulus=True)
    # The stimulus mattered: without it the reference ends elsewhere.
    cfg_off = dict(cfg, stimulus=dict(cfg["stimulus"], A=0.0))
    x_off, _ = numpy_reference(
        cfg_off,
        np.asarray(exp.state0.neurons),
        np.asarray(exp.state0.W),
        np.asarray(dB.W),
        np.asarray(dB.stimulus[0]),
    )
    assert np.abs(x - x_off).max() > 1e-2


def test_reference_detects_a_wrong_model():
    """The comparison has power: a 1 % change of β (or dropping the memory
    insertion) moves the result far outside the tolerance."""
    opts = susman.SusmanOptions(n=N, rule="dissipation", dt=DT)
    p = susman.SusmanParams()
    exp = susman.erosion(
        opts,
        p,
        jr.key(11),
        code="imaginary",
        t_insert=T_INSERT,
        t_end=T_END,
        save_every=T_END,
    )
    cfg = _cfg_from(opts, p, T_END)
    u, v = np.asarray(exp.observe.planes[0])
    cfg["insert"] = (T_INSERT, 5.0 * (np.outer(u, v) - np.outer(v, u)))
    x, W, dB = _compare(exp, cfg, jr.key(12))
    args = (np.asarray(exp.state0.neurons), np.asarray(exp.state0.W), np.asarray(dB.W))
    _, W_beta = numpy_reference(dict(cfg, beta=cfg["beta"] * 1.01), *args)
    assert np.abs(W_beta - W).max() > 1e3 * 1e-8 * np.abs(W).max()
    x_noins, _ = numpy_reference({k: v for k, v in cfg.items() if k != "insert"}, *args)
    assert np.abs(x_noins - x).max() > 1e-2
