"""Shared helpers of the syscall field modules (evt, proc, thread, fd, user, group).

Extractors find the event's state, thread and fd in ``event.cache``, filled by
``scaptools.state.State.update`` (``tracked_events``): each event carries the
state of its own capture, so captures tracked at the same time do not mix.
An event no state has seen has none of them (its fields have no value).
"""
from __future__ import annotations

from scaptools.fields.base import ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED, FieldInfo, FieldSet

PROVIDER = "syscall"


def event_state(ev):
    """The ``State`` that tracked the event, or ``None``."""
    cache = ev.cache
    return cache.get("state") if cache is not None else None


def event_thread(ev):
    """The ``ThreadInfo`` of the event's thread, or ``None``."""
    cache = ev.cache
    return cache.get("thread") if cache is not None else None


def event_fd(ev):
    """The ``FdInfo`` the event works on, or ``None``."""
    cache = ev.cache
    if cache is not None and "fd" in cache:
        return cache["fd"]
    return None


def main_thread(state, thread):
    """The main thread of ``thread``'s process in ``state`` (itself when unknown)."""
    if thread is None:
        return None
    if thread.pid == thread.tid:
        return thread
    main = state.thread(thread.pid) if state is not None else None
    return main if main is not None else thread


def parent_thread(state, thread):
    """The thread that created ``thread`` (its ``ptid``), or ``None`` (sysdig's parent)."""
    if thread is None or state is None:
        return None
    return state.thread(thread.ptid)


class FieldAdder:
    """Collects ``(FieldInfo, factory)`` pairs for one field class."""

    def __init__(self):
        self.items: list[tuple[FieldInfo, object]] = []

    def simple(self, name: str, type_: str, desc: str, fn, is_list: bool = False,
               tags: tuple = ()):
        """A field without argument: ``fn(event) -> value | None``."""
        info = FieldInfo(name, type_, is_list=is_list, desc=desc, provider=PROVIDER,
                         tags=tuple(tags))
        self.items.append((info, lambda arg, fn=fn: fn))

    def with_arg(self, name: str, type_: str, desc: str, factory, required: bool = True,
                 kind: str = "index", tags: tuple = ()):
        """A field with an argument: ``factory(arg) -> extractor``."""
        info = FieldInfo(name, type_, arg=ARG_REQUIRED if required else ARG_OPTIONAL,
                         arg_kind=kind, desc=desc, provider=PROVIDER, tags=tuple(tags))
        self.items.append((info, factory))

    def add_to(self, fs: FieldSet) -> None:
        for info, factory in self.items:
            fs.add(info, factory)


def on_thread(fn):
    """Wrap ``fn(thread)`` into an extractor that gives ``None`` without a thread."""
    def extract(ev):
        thread = event_thread(ev)
        return fn(thread) if thread is not None else None
    return extract


def on_main(fn):
    """Wrap ``fn(main_thread)``; ``None`` without a thread."""
    def extract(ev):
        thread = event_thread(ev)
        return fn(main_thread(event_state(ev), thread)) if thread is not None else None
    return extract


def on_fd(fn, pending: bool = False):
    """Wrap ``fn(fdinfo, event)``; ``None`` when the event has no fd.

    The placeholder fd of an fd-creating call's enter event is passed only
    when ``pending`` is true (sysdig shows just its number and type letter).
    """
    def extract(ev):
        fd = event_fd(ev)
        if fd is None or (fd.pending and not pending):
            return None
        return fn(fd, ev)
    return extract


__all__ = ["ARG_NONE", "FieldAdder", "event_state", "event_thread", "event_fd", "main_thread",
           "parent_thread", "on_thread", "on_main", "on_fd"]
