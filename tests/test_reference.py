"""The demo and the four Susman examples, at tiny sizes, against results stored
before the model registry existed (tests/data/reference.npz, written by
tests/data/make_reference.py): bitwise on the platform that wrote them, to
1e-6 elsewhere. A refactor of the engine or the generic layers must not move
a single bit; a change meant to alter results regenerates the file in a
commit of its own."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_reference as ref  # noqa: E402

STORED = np.load(Path(__file__).parent / "data" / "reference.npz")
SAME_PLATFORM = str(STORED["platform"]) == f"{platform.machine()}-{sys.platform}"


def _compare(name: str) -> None:
    got = ref.run(name)
    want = {k: STORED[k] for k in STORED.files if k.startswith(f"{name}/")}
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        g = got[k]
        assert g.dtype == w.dtype and g.shape == w.shape, k
        if SAME_PLATFORM:
            assert g.tobytes() == w.tobytes(), f"{k} differs bitwise"
        else:
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6, err_msg=k)


def test_demo_matches_reference():
    _compare("demo")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ref.CASES))
def test_example_matches_reference(name):
    _compare(name)
