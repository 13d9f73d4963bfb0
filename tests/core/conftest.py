"""Fixtures of the compiled core's tests."""
from __future__ import annotations

import os

import pytest

from scaptools.core import native


@pytest.fixture
def core(monkeypatch):
    """The compiled core with its walker; skip when it is not built (fail under CI)."""
    monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    found = native()
    if found is None or not hasattr(found, "Walker"):
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("the compiled core is not built (CI is set)", pytrace=False)
        pytest.skip("the compiled core is not built here (CI=true makes this a failure)")
    return found
