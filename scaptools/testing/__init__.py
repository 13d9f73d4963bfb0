"""Regression tests from stored captures (``scap test`` and the pytest plugin)."""
