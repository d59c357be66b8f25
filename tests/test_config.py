"""Eager validation of TOML configurations: every bad input names the problem."""

import math

import pytest

from sleepjax.config import ConfigError, load, parse

BASE = {
    "model": {"n": 16},
    "protocol": {"name": "erosion", "t_insert": 20.0, "t_end": 40.0},
}


def with_(section, **kw):
    raw = {k: dict(v) for k, v in BASE.items()}
    raw.setdefault(section, {}).update(kw)
    return raw


def test_valid_config_builds():
    cfg = parse(BASE)
    assert cfg.options.n == 16 and cfg.protocol == "erosion"
    ex = cfg.build()
    assert ex.t1 == 40.0 and ex.model.n == 16


@pytest.mark.parametrize(
    "raw, match",
    [
        (
            with_("model", rul="rate_control"),
            r"unknown \[model\] key 'rul' \(did you mean 'rule'\?\)",
        ),
        (with_("model", rule="rate_contrl"), r"did you mean 'rate_control'"),
        (with_("model", dt=-0.1), r"dt must be > 0"),
        (with_("model", dt=0.0), r"dt must be > 0"),
        (with_("model", beta=math.nan), r"beta must be finite"),
        (with_("model", tau_y=-1.0), r"tau_y must be > 0"),
        (with_("model", n="many"), r"n must be an integer"),
        (with_("protocol", t_end=-5.0), r"t_end must be > 0"),
        (with_("protocol", t_insert=50.0), r"t_insert .* before t_end"),
        (with_("protocol", t_end=40.05), r"not a whole number of steps"),
        (with_("protocol", name="erosoin"), r"did you mean 'erosion'"),
        (with_("protocol", code="complex"), r"unknown \[protocol\] code"),
        (with_("protocol", colour="red"), r"unknown \[protocol\] key"),
        (
            {**BASE, "sweeps": {}},
            r"unknown section 'sweeps' \(did you mean 'sweep'\?\)",
        ),
        ({"model": {"n": 16}}, r"no \[protocol\] section"),
        (with_("run", seeds=-2), r"seeds must be a positive integer"),
        (with_("run", solver="rk4"), r"unknown \[run\] solver"),
        (with_("run", prng="mt19937"), r"unknown \[run\] prng"),
        ({"model": {"n": 18}, "protocol": {"name": "learning"}}, r"divisible by 4"),
        (
            {
                "model": {"n": 16},
                "protocol": {"name": "learning", "window": [1.0, 2.0, 3.0]},
            },
            r"window must have 2 entries",
        ),
    ],
)
def test_bad_config_is_refused(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse(raw)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nn = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)


def test_examples_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "examples").glob("*.toml"))
    assert len(files) >= 4
    for f in files:
        if f.name.startswith("fit"):
            continue  # fit configs are checked by tests/test_fit.py
        cfg = load(f)
        assert cfg.protocol in cfg.spec.protocols, (f.name, cfg.protocol)
