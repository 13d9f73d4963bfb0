"""Helpers of the core's differential tests: the extension or a skip, and one-rule plans."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from scaptools.core import native


def sibling(name: str):
    """The test module ``name`` of this folder, loaded afresh from its file (the tests
    share made captures and checks this way)."""
    # named inside this package, so that its own relative imports work
    spec = importlib.util.spec_from_file_location(f"{__package__}.sibling_{name}",
                                                  Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def core_or_skip():
    """The compiled core; without it the test skips (fails when CI is set)."""
    core = native()
    if core is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("the compiled core is not built (scaptools._core)")
        pytest.skip("the compiled core is not built (CI=true makes this a failure)")
    return core


def one_rule(core, table, cond, output=(), source="aws_cloudtrail"):
    """``core.Rules`` of a single rule with the plain condition ``cond`` and ``output``."""
    rule = {"name": "r", "priority": "Critical", "tags": [], "source": source, "cond": cond,
            "output": list(output)}
    plan = {"source": source, "plugin": "cloudtrail", "hostname": "h", "first": True,
            "fields": table.rows, "rules": [rule], "index": None, "default": [[0, False]],
            "groups": {}}
    return core.Rules(json.dumps(plan))
