"""The field set of the ``syscall`` source: evt, proc, thread, fd, fdlist, user, group.

``syscall_fieldset()`` is what the rule engine and ``scap replay`` use for
syscall rules; the extractors read the state filled by
``scaptools.state.State.update`` (see that module for the protocol).
"""
from __future__ import annotations

from .base import FieldSet
from .evt import evt_fields
from .fd import fd_fields
from .proc import proc_fields, thread_fields, user_fields
from .container import container_fields

SYSCALL_SOURCE = "syscall"


def syscall_fieldset() -> FieldSet:
    """A new ``FieldSet`` with every syscall field."""
    fs = FieldSet(SYSCALL_SOURCE)
    for adder in (evt_fields(), proc_fields(), thread_fields(), user_fields(), fd_fields(),
                  container_fields()):
        adder.add_to(fs)
    return fs
