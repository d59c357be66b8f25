"""Shared test helpers: TOML text from a config dict, and the check that a
bad configuration is refused by validation and by `sleepjax run` (exit 2,
the message on stderr, nothing written)."""

from __future__ import annotations

import json
import re

from sleepjax.cli import main
from sleepjax.config import ConfigError, parse
from sleepjax.sweep import validate_sweep


def toml_value(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items())
        return "{ " + items + " }"
    return repr(v)


def dump_toml(raw: dict) -> str:
    """Enough TOML for our configs: sections of scalars, lists, inline tables."""
    lines = []
    for section, table in raw.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def assert_refused(raw: dict, match: str, tmp_path, capsys) -> None:
    """`raw` is refused with a message matching `match`, both by
    `validate_sweep(parse(raw))` and by `sleepjax run` (exit 2, nothing
    written)."""
    import pytest

    with pytest.raises(ConfigError, match=match):
        validate_sweep(parse(raw))
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(dump_toml(raw))
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert re.search(match, capsys.readouterr().err)
    assert not out.exists()


def assert_setting_refused(
    base: dict, section: str, key: str, value, match: str, tmp_path, capsys
) -> None:
    """`base` with `[section] key = value` is refused (`assert_refused`);
    `base` itself is left unchanged."""
    raw = {s: dict(v) for s, v in base.items()}
    raw[section][key] = value
    assert_refused(raw, match, tmp_path, capsys)
