"""Two captures tracked at the same time in one process, with one syscall field set.

Each event carries the state of its own capture (``event.cache["state"]``), so
the fields of events read in turns from two captures are those of reading the
captures one after the other.
"""
from __future__ import annotations

from itertools import zip_longest

from scaptools.fields.syscall import syscall_fieldset
from scaptools.format.reader import open_capture
from scaptools.state import tracked_events

CAPTURES = ["curl_google.scap", "sample.scap"]
# fields that read the state beyond the event's own thread: parents, process groups,
# sessions, users, groups, containers, the first timestamp, fd and path resolution
FIELDS = ["proc.name", "proc.pname", "proc.aname[2]", "proc.apid[3]", "proc.nthreads",
          "proc.nchilds", "proc.sname", "proc.loginshellid", "proc.vpgid.name",
          "proc.ppid.duration", "proc.exe", "user.name", "user.homedir", "group.name",
          "user.loginname", "fd.name", "fd.type", "evt.args", "evt.arg.fd", "evt.reltime",
          "evt.abspath", "container.id", "container.name", "thread.exectime", "thread.vmsize"]


def field_values(fieldset, event) -> tuple:
    return tuple(fieldset.extractor(*split(name))(event) for name in FIELDS)


def split(name: str):
    base, _, arg = name.partition("[")
    return (base, arg[:-1]) if arg else (base,)


def one_after_the_other(paths, fieldset) -> list[list]:
    out = []
    for path in paths:
        with open_capture(path) as reader:
            out.append([field_values(fieldset, ev) for ev in tracked_events(reader)
                        if not ev.is_plugin])
    return out


def in_turns(paths, fieldset) -> list[list]:
    readers = [open_capture(path) for path in paths]
    streams = [tracked_events(reader) for reader in readers]
    out = [[] for _ in paths]
    try:
        for events in zip_longest(*streams):  # one event of each capture in turn
            for values, event in zip(out, events):
                if event is not None and not event.is_plugin:
                    values.append(field_values(fieldset, event))
    finally:
        for reader in readers:
            reader.close()
    return out


def test_two_captures_in_turns_give_the_fields_of_one_after_the_other(shared):
    paths = [shared / "captures" / "libs-e2e" / name for name in CAPTURES]
    fieldset = syscall_fieldset()
    alone = one_after_the_other(paths, fieldset)
    mixed = in_turns(paths, fieldset)
    assert [len(values) for values in mixed] == [len(values) for values in alone]
    assert all(len(values) > 500 for values in alone)
    for name, first, second in zip(CAPTURES, alone, mixed):
        assert first == second, name
    # the fields do depend on the state: the two captures' processes differ
    assert {v[0] for v in alone[0]} != {v[0] for v in alone[1]}
