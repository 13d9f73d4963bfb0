"""``scap print FILE FILTER`` on plugin events: the compiled core tests the filter
(scaptools/view/filtering.py, ``in_core``) and prints exactly what the Python path
prints, for the default lines, ``-p`` formats and ``-j``."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import scaptools.engine
from scaptools.cli.main import cli
from scaptools.core import native
from scaptools.view.filtering import compile_filter
from scaptools.view.printer import PrintOptions, installed_plugins, print_capture

ROOT = Path(__file__).resolve().parents[2]
REPO = sorted(p for p in (ROOT / "captures").glob("*.scap") if p.name != "syscall_shell.scap")
SHARED = ["cloudtrail_small.scap"]

# filters the core evaluates for CloudTrail events
CORE = [
    "ct.name = DescribeInstances",
    "ct.name != GetCallerIdentity",
    "ct.name in (RunInstances, CreateUser, PutBucketPolicy, ConsoleLogin, ListBuckets)",
    "ct.user contains li",
    "ct.region startswith us-",
    "ct.error exists",
    "not ct.error exists and ct.name startswith Describe",
    "(ct.region = us-east-1 or ct.region = eu-west-1) and not ct.user = bob",
    "ct.name icontains bucket or ct.srcip endswith .99",
    "ct.name glob 'Get*'",
    "json.value[/eventName] = ConsoleLogin",
    "json.value[/requestParameters/bucketName] exists",
    "json.value[/userIdentity/type] in (IAMUser, Root)",
    "evt.num > 3 and evt.num <= 20",
    "evt.pluginname = cloudtrail and evt.source = aws_cloudtrail",
    "toupper(ct.name) = GETOBJECT or s3.bucket != ''",
]
# filters the core leaves to Python (or that only syscall events can meet)
PYTHON = [
    "ct.name regex 'Get.*'",
    "evt.reltime > 1000000000",
]
NONE = ["proc.name = bash", "ct.name = GetObject and proc.name = bash"]
MODES = [[], ["-j"], ["-p", "%evt.num %ct.name %ct.user %json.value[/awsRegion]"],
         ["-j", "-p", "%evt.num %ct.name %evt.time"]]


def core_or_skip():
    if native() is None:
        pytest.skip("the compiled core is not built (or SCAPTOOLS_PURE is set)")


def run(args, pure: bool, monkeypatch) -> tuple:
    if pure:
        monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    else:
        monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    res = CliRunner().invoke(cli, ["print", *map(str, args)])
    return res.exit_code, res.stdout, res.stderr


def same_in_both_modes(paths, filters, monkeypatch, every_mode: bool = True) -> int:
    """Assert identical results in both modes; the number of lines printed. Without
    ``every_mode`` each (capture, filter) pair is printed one way, the ways taking
    turns, so that every filter and every capture still meet every way (time)."""
    lines = 0
    for i, path in enumerate(paths):
        for j, text in enumerate(filters):
            modes = MODES if every_mode else [MODES[(i + j) % len(MODES)]]
            for mode in modes:
                args = [path, text, *mode]
                core = run(args, False, monkeypatch)
                pure = run(args, True, monkeypatch)
                assert core == pure, args
                lines += core[1].count("\n")
    return lines


@pytest.fixture
def shared_plugin_captures(shared):
    paths = [shared / "captures" / "libscap-plugin" / name for name in SHARED]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"shared plugin captures absent: {', '.join(missing)}")
    return paths


@pytest.mark.parametrize("group", ["core", "python", "none"])
def test_repo_captures_print_the_same_in_both_modes(group, monkeypatch, utc):
    core_or_skip()
    if not REPO:
        pytest.skip("the repository's captures/ folder has no plugin captures")
    filters = {"core": CORE, "python": PYTHON, "none": NONE}[group]
    lines = same_in_both_modes(REPO, filters, monkeypatch, every_mode=False)
    assert (lines > 0) == (group != "none")


def test_shared_captures_print_the_same_in_both_modes(shared_plugin_captures, monkeypatch,
                                                      utc):
    core_or_skip()
    assert same_in_both_modes(shared_plugin_captures, CORE + PYTHON, monkeypatch) > 0


def test_bad_filters_fail_the_same_in_both_modes(monkeypatch):
    path = REPO[0] if REPO else None
    if path is None:
        pytest.skip("the repository's captures/ folder has no plugin captures")
    for text in ["ct.name = ", "ct.nosuchfield = x", "json.value = x"]:
        core = run([path, text], False, monkeypatch)
        assert core == run([path, text], True, monkeypatch), text
        assert core[0] != 0


def test_paths_per_source(monkeypatch):
    core_or_skip()
    registry = installed_plugins()
    for text in CORE:
        assert compile_filter(text, registry).paths == {"aws_cloudtrail": "core"}, text
    for text in PYTHON:
        assert compile_filter(text, registry).paths == {"aws_cloudtrail": "python"}, text
    assert compile_filter(NONE[0], registry).paths == {"aws_cloudtrail": None}
    monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    assert compile_filter(CORE[0], registry).paths == {"aws_cloudtrail": "python"}


def counted_python_filters(monkeypatch) -> list:
    """Make the Python filters count their calls; the list of counts grows per filter."""
    calls = []
    engine_compile = scaptools.engine.compile_filter

    def counting(text, fieldset):
        slot = len(calls)
        calls.append(0)
        fn = engine_compile(text, fieldset)

        def match(event):
            calls[slot] += 1
            return fn(event)
        return match
    monkeypatch.setattr(scaptools.engine, "compile_filter", counting)
    return calls


def printed(path, text) -> list[str]:
    out = []
    print_capture(path, PrintOptions(filter=text), registry=installed_plugins(),
                  write=out.append)
    return out


def test_the_core_tests_plugin_events_not_the_python_condition(monkeypatch):
    core_or_skip()
    if not REPO:
        pytest.skip("the repository's captures/ folder has no plugin captures")
    calls = counted_python_filters(monkeypatch)

    def plugin_calls(text) -> tuple[int, int]:
        """(lines shown, calls of the aws_cloudtrail Python filter) over the captures."""
        shown = called = 0
        for path in REPO:
            start = len(calls)
            shown += len(printed(path, text))
            assert len(calls) == start + 2  # compiled for syscall, then aws_cloudtrail
            called += calls[start + 1]
        return shown, called

    shown, called = plugin_calls("ct.region startswith us-")
    assert shown > 0 and called == 0
    # a condition the core cannot evaluate is tested by the Python function
    shown, called = plugin_calls("ct.name regex '.*'")
    assert shown > 0 and called == shown
    # and with SCAPTOOLS_PURE=1 every plugin event goes through it
    monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    shown, called = plugin_calls("ct.region startswith us-")
    assert called > shown > 0


def plugin_event(lengths: tuple, body: bytes):
    import struct

    from scaptools.events.event import Event
    head = struct.pack("<QQIHI", 1, 2, 26 + 4 * len(lengths) + len(body), 322, len(lengths))
    raw = head + struct.pack(f"<{len(lengths)}I", *lengths) + body
    return Event(1, 1, 0, 2, 322, len(lengths), raw)


def test_plugin_id_read_from_the_bytes_is_its_first_parameter():
    """``Event.plugin_id`` reads the id in place when both parameters fit: the same id as
    the split parameters give, and the same error when a length runs past the end."""
    import struct

    from scaptools.errors import ScapError
    good = [plugin_event((4, 3), b"\x07\0\0\0abc"), plugin_event((4, 0), b"\x09\0\0\0"),
            plugin_event((2, 3), b"\x07\0abc"), plugin_event((4,), b"\x05\0\0\0")]
    for event in good:
        first = event.param_bytes[0]
        assert event.plugin_id == (struct.unpack("<I", first)[0] if len(first) == 4 else None)
    assert [e.plugin_id for e in good] == [7, 9, None, 5]
    for event in [plugin_event((4, 9), b"\x07\0\0\0abc"), plugin_event((8, 0), b"\x07\0\0\0")]:
        with pytest.raises(ScapError):
            event.plugin_id
