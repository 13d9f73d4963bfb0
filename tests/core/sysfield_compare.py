"""The differential check of the core's syscall fields (``scaptools._core.SysFields``,
core/src/sysfields/): every field the core computes gives, after every event of a
capture, the value the Python extractor gives (the reference), with both states kept
current side by side.

``compare(core, path, names)`` walks ``path`` with the Python ``State`` and the core's
``StateWalk`` and compares each named field the core compiles; it returns the names the
core does not compile (with why) and the number of events seen. A field whose argument
the Python field set refuses must be refused by the core too.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from scaptools.errors import FieldError
from scaptools.fields.syscall import syscall_fieldset
from scaptools.format.reader import open_capture
from scaptools.state import State, tracked_events

ROOT = Path(__file__).resolve().parents[2]
REPO_SYSCALL = [ROOT / "captures" / "syscall_shell.scap"]
HOST = "testhost"


def shared_syscall(shared: Path | None) -> list[Path]:
    """The syscall captures of ../shared (skips when there are none)."""
    found = sorted((shared / "captures" / "libs-e2e").glob("*.scap")) if shared else []
    if not found:
        pytest.skip("../shared has no syscall captures (captures/libs-e2e)")
    return found


def split(spec: str) -> tuple[str, str | None]:
    """``proc.aname[2]`` -> (``proc.aname``, ``2``); plain and dotted names stay whole."""
    if spec.endswith("]") and "[" in spec:
        name, arg = spec[:-1].split("[", 1)
        return name, arg
    return spec, None


def python_extractors(fieldset, specs: list[str]) -> list:
    """Per field spec, its Python extractor or the ``FieldError`` it raises."""
    out = []
    for spec in specs:
        name, arg = split(spec)
        try:
            out.append(fieldset.extractor(name, arg, filtering=True))
        except FieldError as exc:
            out.append(exc)
    return out


def plain(value):
    """A Python extractor's value in the core's terms (tuples are lists)."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def compare(core, path: Path, specs: list[str], monkeypatch=None) -> tuple[dict, int]:
    """Compare ``specs`` on every event of ``path``; (not compiled: why, events seen)."""
    if monkeypatch is not None:
        monkeypatch.setenv("FALCO_HOSTNAME", HOST)
    fieldset = syscall_fieldset()
    extractors = python_extractors(fieldset, specs)
    fields = core.SysFields([split(spec) for spec in specs], HOST)
    missing = {}
    for spec, why, py in zip(specs, fields.unknown, extractors):
        if isinstance(py, FieldError):
            assert why is not None and not why.startswith("unknown:"), \
                f"{spec}: Python refuses it ({py}), the core does not ({why})"
        elif why is not None:
            missing[spec] = why
    walk, state = core.StateWalk(str(path)), State()
    count = 0
    with open_capture(path) as reader:
        for event in tracked_events(reader, state):
            step = walk.step()
            assert step == (event.num, event.type, event.tid), f"{path.name}: walks differ"
            got = fields.values(walk)
            for spec, fn, value in zip(specs, extractors, got):
                if spec in missing or isinstance(fn, FieldError):
                    continue
                want = plain(fn(event))
                assert value == want and type(value) is type(want), (
                    f"{path.name} event {event.num} (type {event.type}): {spec} is "
                    f"{value!r} in the core, {want!r} in Python")
            count += 1
    return missing, count
