"""Regression tests from stored captures (``scap test`` and the pytest plugin).

Public names (imported lazily, so that the pytest plugin stays cheap to load):
``load_spec``, ``find_specs``, ``Spec``, ``SpecError``, ``AlertRecord``
(``spec.py``); ``Replayer``, ``run_spec``, ``SpecResult`` (``runner.py``);
``run_mutations`` (``mutate.py``); ``write_junit`` (``junit.py``).
"""
from __future__ import annotations

import importlib

_EXPORTS = {"load_spec": "spec", "find_specs": "spec", "Spec": "spec", "SpecError": "spec",
            "AlertRecord": "spec", "Replayer": "runner", "run_spec": "runner",
            "SpecResult": "runner", "run_mutations": "mutate", "write_junit": "junit"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
