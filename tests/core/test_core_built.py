"""The compiled core is built by the install and can be switched off."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scaptools.core import native

SCAP = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "--version"]


def test_core_is_built_in_ci():
    if native() is None and not os.environ.get("CI"):
        pytest.skip("the compiled core is not built here (CI=true makes this a failure)")
    assert native() is not None, "pip install -e . did not build scaptools._core"


def test_pure_switch_and_version_line(monkeypatch):
    monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    assert native() is None
    out = subprocess.run(SCAP,
                         capture_output=True, text=True, env={**os.environ}, check=True).stdout
    assert "core: pure Python (SCAPTOOLS_PURE is set)" in out
    monkeypatch.delenv("SCAPTOOLS_PURE")
    out = subprocess.run(SCAP,
                         capture_output=True, text=True, env={**os.environ}, check=True).stdout
    expect = "core: compiled" if native() is not None else "the compiled core is not built"
    assert expect in out
