"""The field set of the ``syscall`` source: evt, proc, thread, fd, fdlist, user, group.

``syscall_fieldset()`` is what the rule engine and ``scap replay`` use for
syscall rules; the extractors read the state filled by
``scaptools.state.State.update`` (see that module for the protocol).
"""
from __future__ import annotations

from scaptools.events.render import SYSCALL_NAMES
from scaptools.events.table import EVENT_NAMES, ignored_by_default
from scaptools.fields.base import FieldSet
from scaptools.fields.syscall.evt import evt_fields
from scaptools.fields.syscall.fd import fd_fields
from scaptools.fields.syscall.proc import proc_fields, thread_fields, user_fields
from scaptools.fields.syscall.container import container_fields

SYSCALL_SOURCE = "syscall"
# every value evt.type can take: table names, real names of generic syscalls, unknown ids
TYPE_NAMES = frozenset(EVENT_NAMES) | frozenset(SYSCALL_NAMES.values()) | {"unknown", "<unknown>"}
IGNORED_TYPES = ignored_by_default()


def syscall_fieldset() -> FieldSet:
    """A new ``FieldSet`` with every syscall field."""
    fs = FieldSet(SYSCALL_SOURCE)
    for adder in (evt_fields(), proc_fields(), thread_fields(), user_fields(), fd_fields(),
                  container_fields()):
        adder.add_to(fs)
    # the engine tests an event only against the rules its type can match, and warns
    # (LOAD_NO_EVTTYPE) about rules that restrict no type, as Falco does
    fs.index_field = "evt.type"
    fs.index_universe = TYPE_NAMES
    fs.ignored_index_values = IGNORED_TYPES  # what Falco leaves out without -A
    return fs
