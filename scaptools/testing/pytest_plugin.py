"""pytest plugin (entry point ``pytest11``): collects ``*.scaptest.yaml`` specs.

``pytest captures/`` turns every spec into a test item whose failure text is
the same diff ``scap test`` prints. The ``scap_replay`` fixture replays a
capture through rules files from hand-written tests::

    def test_my_rule(scap_replay):
        alerts = scap_replay("captures/iam.scap", ["rules/aws_cloudtrail_rules.yaml"],
                             options={"rule_matching": "all"})
        assert [a.rule for a in alerts] == ["Create AWS user"]

pytest loads this module on every run, so it imports nothing heavy at import
time.
"""
from __future__ import annotations

import pytest

SPEC_SUFFIX = ".scaptest.yaml"
_REPLAYER_KEY = "_scaptools_replayer"


def pytest_collect_file(file_path, parent):
    if file_path.name.endswith(SPEC_SUFFIX):
        return SpecFile.from_parent(parent, path=file_path)
    return None


def _replayer(config):
    replayer = getattr(config, _REPLAYER_KEY, None)
    if replayer is None:
        from .runner import Replayer
        replayer = Replayer()
        setattr(config, _REPLAYER_KEY, replayer)
    return replayer


class SpecFile(pytest.File):
    """A spec file: one test item."""

    def collect(self):
        yield SpecItem.from_parent(self, name=self.path.name[: -len(SPEC_SUFFIX)])


class SpecFailure(Exception):
    """Raised by a spec item whose alerts differ; carries the diff lines."""


class SpecItem(pytest.Item):
    def runtest(self):
        from .runner import format_result, run_spec
        from .spec import load_spec
        result = run_spec(load_spec(self.path), _replayer(self.config))
        if not result.ok:
            raise SpecFailure("\n".join(format_result(result)))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, SpecFailure):
            return str(excinfo.value)
        from ..errors import ScapError
        if isinstance(excinfo.value, ScapError):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"scaptest: {self.path.name}"


@pytest.fixture
def scap_replay(request):
    """``scap_replay(capture, rules, **options) -> list[AlertRecord]``.

    Keyword options: ``options`` (Falco ``-o`` settings), ``tags``,
    ``skip_tags``, ``disabled``, ``enable_all``, ``min_priority``. Each
    alert has ``time``, ``rule``, ``priority`` and ``output``.
    """
    replayer = _replayer(request.config)

    def replay(capture, rules, **kwargs):
        if isinstance(rules, (str, bytes)) or hasattr(rules, "__fspath__"):
            rules = [rules]
        return replayer.replay(capture, list(rules), **kwargs)
    return replay
