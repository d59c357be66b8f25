"""The documentation runs as written.

- Every ```python block of docs/tutorial.md, docs/rules.md and of README.md's
  quick start is executed, in order, in one namespace per page, from a
  temporary folder that holds a link to `examples/` (the pages assume the
  repository root). After each page a few of its results are checked.
- Every `sleepjax run CONFIG` in a ```bash block of the docs names a config
  that exists and validates.
- No page points outside the repository: no link into `../shared`, every
  relative link resolves to a file of the repository.
- The API reference builds (`mkdocs build --strict`), when mkdocs is
  installed (the `[docs]` extra; CI installs only `[test]`).
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of `text` in language `lang`, in order."""
    return [body for tag, body in FENCE.findall(text) if tag == lang]


def section(text: str, heading: str) -> str:
    """The part of a markdown page under `heading` (to the next heading of
    the same or a higher level)."""
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
    assert m, f"no heading {heading!r}"
    level = len(m.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, m.end())
    return text[m.end() : end.start() if end else len(text)]


def run_page(snippets: list[str], where: Path, name: str, monkeypatch) -> dict:
    """Execute `snippets` in order in one module's namespace, from `where`
    (a module in `sys.modules`, as a script's `__main__` is: dataclasses and
    equinox look classes' modules up there)."""
    assert snippets, f"{name}: no python snippets"
    (where / "examples").symlink_to(ROOT / "examples")
    module = types.ModuleType(f"docs_{name}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    ns = module.__dict__
    for i, code in enumerate(snippets):
        try:
            exec(compile(code, f"<{name} snippet {i + 1}>", "exec"), ns)
        except Exception as e:
            raise AssertionError(
                f"{name}: snippet {i + 1} failed: {type(e).__name__}: {e}\n{code}"
            ) from e
    return ns


@pytest.mark.slow  # a sweep and a fit, as the tutorial runs them (~70 s)
def test_tutorial_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "tutorial.md").read_text()
    ns = run_page(blocks(text, "python"), tmp_path, "tutorial", monkeypatch)
    # one simulation
    assert int(ns["sim"].status) == 0
    w = np.asarray(ns["sim"].ys["w_std"])
    assert w.shape == (11,) and np.all(np.isfinite(w))
    # the Python sweep: 2 x 2 values x 4 seeds, all finished, in the store
    ds = ns["ds"]
    assert ds.sizes["network"] == 16 and ds.sizes["time"] == 11
    assert set(np.unique(ds["beta"].values)) == {0.05, 0.2}
    assert np.all(ds.status.values == 0)
    assert ds.w_std.attrs["long_name"] == "spread of the weights"
    # the text's claim: larger beta, smaller weight spread at the end
    final = ns["final"].groupby("beta")["w_std"].mean()
    assert final[0.2] < final[0.05]
    # the config was validated (128 networks) and nothing was written for it
    assert ns["plan"].n_networks == 128
    assert not (tmp_path / "runs" / "noise_beta").exists()
    # the fit recovers beta from trajectory matching with the data's noise
    fitted = float(ns["result"].params().beta)
    assert fitted == pytest.approx(0.1, rel=1e-3)


def test_readme_quick_start_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = section((ROOT / "README.md").read_text(), "Quick start (Python)")
    ns = run_page(blocks(text, "python"), tmp_path, "readme", monkeypatch)
    sims = ns["sims"]
    assert np.all(np.asarray(sims.status) == 0)
    assert np.all(np.isfinite(np.asarray(sims.ys)))


def test_rules_guide_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "rules.md").read_text()
    ns = run_page(blocks(text, "python"), tmp_path, "rules", monkeypatch)
    # Oja's fixed point in a saturated network (phi = +-1): |W_ij| = 1/alpha,
    # so every row has norm sqrt(n)/alpha (the page's claim), up to the noise
    norms = np.asarray(ns["row_norms"])
    assert np.all(np.abs(norms - 1.0) < 0.02), norms
    assert np.all(np.abs(np.abs(ns["W_end"]) - 0.5) < 0.02)
    # the page ran the conformance suite on its rule (a failure raises)
    assert "Oja" in ns["conformance"].CASES


def _run_commands():
    """(page, config path) of every `sleepjax run CONFIG` in a bash block."""
    out = []
    for page in PAGES:
        for body in blocks(page.read_text(), "bash"):
            for line in body.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if words[:2] == ["sleepjax", "run"] and len(words) > 2:
                    out.append((page.name, words[2]))
    return out


@pytest.mark.parametrize(("page", "config"), _run_commands())
def test_documented_configs_exist_and_validate(page, config):
    from sleepjax.config import load
    from sleepjax.sweep import validate_sweep

    path = ROOT / config
    assert path.is_file(), f"{page}: `sleepjax run {config}`: no such file"
    validate_sweep(load(path))


def test_tutorial_toml_excerpt_matches_the_example():
    """The tutorial's (abridged) TOML is a part of the example it names."""
    import tomllib

    text = (ROOT / "docs" / "tutorial.md").read_text()
    (excerpt,) = blocks(text, "toml")
    example = tomllib.loads(
        (ROOT / "examples" / "sweep_noise_homeostasis.toml").read_text()
    )
    for name, table in tomllib.loads(excerpt).items():
        for key, value in table.items():
            assert example[name][key] == value, f"[{name}] {key}"


def test_docs_point_inside_the_repository():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in PAGES:
        text = page.read_text()
        assert "../shared" not in text, f"{page.name} points at ../shared"
        assert "SPEC.md" not in text, f"{page.name} cites SPEC.md"
        for target in link.findall(text):
            if re.match(r"[a-z]+://", target):
                continue
            assert (page.parent / target).resolve().is_file(), (
                f"{page.name}: link to {target} does not resolve"
            )


@pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("mkdocs", "mkdocstrings_handlers", "griffe_public_redundant_aliases")
    ),
    reason="the [docs] extra is not installed (pip install -e '.[docs]'): "
    "mkdocs, mkdocstrings[python], griffe-public-redundant-aliases",
)
def test_api_reference_builds(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q"]
        + ["--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    # one public name of each documented module, under its public path
    for name in (
        "sleepjax.simulate",
        "sleepjax.Model",
        "sleepjax.dynamics.RateNetwork",
        "sleepjax.plasticity.AbstractRule",
        "sleepjax.stimuli.PiecewiseConstant",
        "sleepjax.analysis.eig",
        "sleepjax.sweep.validate_sweep",
        "sleepjax.fit.Trajectory",
        "sleepjax.plot.plot_results",
        "sleepjax.config.load",
    ):
        assert f'id="{name}"' in api, f"the API reference lacks {name}"
