"""Shared fixtures: the read-only reference folder and the oracle tools."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCAPTOOLS_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared reference folder; tests using it skip when it is absent."""
    if not (SHARED / "spec").is_dir():
        pytest.skip("../shared reference data is absent (fresh clone without it)")
    return SHARED


def missing_oracle(reason: str):
    """Skip a test whose oracle (sysdig, tshark, a C compiler, a plugin built with it) is
    missing; in CI (``CI`` set, as .ci/run runs) fail instead, so that a missing oracle
    cannot turn the comparisons it makes into silent skips."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (a missing oracle fails the run in CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sysdig_bin() -> str:
    path = shutil.which("sysdig")
    if path is None:
        missing_oracle("sysdig is not installed (apt-get install sysdig)")
    return path


@pytest.fixture(scope="session")
def tshark_bin() -> str:
    path = shutil.which("tshark")
    if path is None:
        missing_oracle("tshark is not installed (apt-get install tshark)")
    return path


@pytest.fixture
def utc(monkeypatch):
    """Run a test with TZ=UTC (the zone the reference outputs were made in)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
