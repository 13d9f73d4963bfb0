"""Test specs: a stored capture, the rules to replay it with, and the alerts to expect.

A spec is a YAML mapping in a file named ``<name>.scaptest.yaml``, usually
next to its capture. Paths inside it are relative to the spec file::

    description: IAM changes made with a stolen access key   # free text (optional)
    capture: iam.scap                     # required: the capture to replay
    rules:                                # required: rules files, loaded in order
      - ../rules/aws_cloudtrail_rules.yaml
    options:                              # Falco options, like `scap replay -o KEY=VALUE`
      rule_matching: all                  #   (rule_matching, priority, ...)
    tags: [aws_iam]                       # -t: run only rules with one of these tags
    skip_tags: []                         # -T: skip rules with one of these tags
    disabled: [Create Group]              # -D: disable rules whose name contains one
    enable_all: false                     # -A: do not skip any event type (Falco -A)
    min_priority: notice                  # --min-priority
    expect:
      alerts: iam.alerts.jsonl            # golden file: the exact alerts
      # counts: {Create AWS user: 2}      # ...or the number of alerts per rule
      only: true                          # no other alert may appear (default true)
    negative_for:                         # rules whose near misses the capture holds:
      - Create Group                      #   they must raise no alert at all

Exactly one of ``expect.alerts`` and ``expect.counts`` is given. A golden
file holds one JSON object per line with the keys ``time`` (UTC, nanosecond
ISO 8601 as in Falco's JSON alerts), ``rule``, ``priority`` (Falco's printed
name) and ``output`` (the formatted message); ``scap test --update`` writes it
from the current behaviour, for review. Alerts are paired by (time, rule);
a pair whose priority or output differs is reported as changed. With
``only: false`` the expected alerts must all appear but others are tolerated.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import Location, RuleError

SPEC_SUFFIX = ".scaptest.yaml"
SPEC_KEYS = {"description", "capture", "rules", "options", "tags", "skip_tags", "disabled",
             "enable_all", "min_priority", "expect", "negative_for"}
EXPECT_KEYS = {"alerts", "counts", "only"}


class SpecError(RuleError):
    """A test spec or golden file is malformed (names file:line)."""

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message, location, "test spec", "", "SPEC_INVALID")

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass(frozen=True)
class AlertRecord:
    """The part of an alert a spec compares: time, rule, priority, message."""

    time: str
    rule: str
    priority: str
    output: str

    def to_json(self) -> str:
        return json.dumps({"time": self.time, "rule": self.rule, "priority": self.priority,
                           "output": self.output}, ensure_ascii=False)


@dataclass
class Spec:
    """One parsed test spec; paths are resolved against the spec's folder."""

    path: Path
    capture: Path
    rules: list[Path]
    options: dict = field(default_factory=dict)
    tags: tuple = ()
    skip_tags: tuple = ()
    disabled: tuple = ()
    enable_all: bool = False
    min_priority: str | None = None
    golden: Path | None = None
    counts: dict | None = None
    only: bool = True
    negative_for: tuple = ()
    description: str = ""

    @property
    def name(self) -> str:
        return self.path.name[: -len(SPEC_SUFFIX)] if self.path.name.endswith(SPEC_SUFFIX) \
            else self.path.stem


def find_specs(paths) -> list[Path]:
    """Spec files named directly or found (recursively) under the given folders, sorted."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(path.rglob(f"*{SPEC_SUFFIX}")))
        elif path.name.endswith(SPEC_SUFFIX) and path.exists():
            out.append(path)
        elif path.exists():
            raise SpecError(f"not a test spec (expected a *{SPEC_SUFFIX} file or a folder)",
                            Location(str(path)))
        else:
            raise SpecError("no such file or folder", Location(str(path)))
    return out


def load_spec(path) -> Spec:
    """Parse and check one spec file. Raises ``SpecError`` naming file:line."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", Location(str(path))) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise SpecError(f"YAML error: {getattr(exc, 'problem', exc)}",
                        Location(str(path), line)) from None
    if not isinstance(data, dict):
        raise SpecError("a spec must be a YAML mapping", Location(str(path), 1))
    _check_keys(path, data, SPEC_KEYS, "")
    base = path.parent
    expect = data.get("expect") or {}
    if not isinstance(expect, dict):
        raise _error(path, "expect", "'expect' must be a mapping")
    _check_keys(path, expect, EXPECT_KEYS, "expect.")
    if ("alerts" in expect) == ("counts" in expect):
        raise _error(path, "expect", "give exactly one of expect.alerts and expect.counts")
    counts = expect.get("counts")
    if counts is not None:
        counts = _counts(path, counts)
    return Spec(
        path=path,
        capture=base / _text(path, data, "capture"),
        rules=[base / r for r in _text_list(path, data, "rules", required=True)],
        options=_mapping(path, data, "options"),
        tags=tuple(_text_list(path, data, "tags")),
        skip_tags=tuple(_text_list(path, data, "skip_tags")),
        disabled=tuple(_text_list(path, data, "disabled")),
        enable_all=bool(data.get("enable_all", False)),
        min_priority=str(data["min_priority"]) if data.get("min_priority") else None,
        golden=base / str(expect["alerts"]) if "alerts" in expect else None,
        counts=counts,
        only=bool(expect.get("only", True)),
        negative_for=tuple(_text_list(path, data, "negative_for")),
        description=str(data.get("description", "")),
    )


def read_golden(path: Path) -> list[AlertRecord]:
    """The expected alerts of a golden file. Raises ``SpecError`` (file:line) if malformed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise SpecError("golden alert file is missing; create it with `scap test --update` "
                        "and review it", Location(str(path))) from None
    out = []
    for num, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(AlertRecord(obj["time"], obj["rule"], obj["priority"], obj["output"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SpecError(f"bad alert line ({exc})", Location(str(path), num)) from None
    return out


def write_golden(path: Path, alerts: list[AlertRecord]) -> None:
    """Write a golden file (one JSON alert per line)."""
    path.write_text("".join(a.to_json() + "\n" for a in alerts), encoding="utf-8")


# -- helpers ------------------------------------------------------------------

def _line_of(path: Path, key: str) -> int:
    """Best-effort line number of a top-level key, for error messages."""
    try:
        for num, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(f"{key}:"):
                return num
    except OSError:
        pass
    return 0


def _error(path: Path, key: str, message: str) -> SpecError:
    return SpecError(message, Location(str(path), _line_of(path, key)))


def _check_keys(path: Path, data: dict, allowed: set, prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise _error(path, str(key), f"unknown key '{prefix}{key}' (expected one of "
                         f"{', '.join(sorted(allowed))})")


def _text(path: Path, data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _error(path, key, f"'{key}' must be a non-empty string")
    return value


def _text_list(path: Path, data: dict, key: str, required: bool = False) -> list[str]:
    value = data.get(key)
    if value is None and not required:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value and required \
            or not all(isinstance(v, (str, int, float)) for v in value):
        raise _error(path, key, f"'{key}' must be a list of strings")
    return [str(v) for v in value]


def _mapping(path: Path, data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise _error(path, key, f"'{key}' must be a mapping")
    return {str(k): v for k, v in value.items()}


def _counts(path: Path, counts) -> dict:
    if not isinstance(counts, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
        raise _error(path, "expect", "'expect.counts' must map rule names to counts >= 0")
    return {str(k): v for k, v in counts.items()}
