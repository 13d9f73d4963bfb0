"""The ``--state`` file of ``scap record`` and the output file names (see ``scaptools.record``)."""
from __future__ import annotations

import json
import os

from .errors import RecordError


def output_path(out: str, index: int, rotating: bool) -> str:
    """``OUT``, or ``OUT.<index>`` when rotating."""
    return f"{out}.{index}" if rotating else out


class RecordState:
    """The ``--state`` file: the capture position and the source position of the last commit.

    Saved atomically (temporary file, fsync, rename) after the capture fsync, and
    only at unit boundaries, so the capture up to (index, events, size) holds
    exactly the units up to ``done_through``.
    """

    VERSION = 1

    def __init__(self, path: str, params: str, out: str):
        self.path, self.params, self.out = path, params, out
        self.index = self.events = self.size = 0
        self.done_through: str | None = None
        self.failed: list[str] = []
        self.files: list[str] = []

    def load(self) -> None:
        """Read the file if it exists; RecordError when it belongs to another recording."""
        if not os.path.exists(self.path):
            return
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("version") != self.VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            self.index, self.events, self.size = data["index"], data["events"], data["size"]
            self.done_through, self.failed = data["done_through"], list(data["failed"])
            self.files = list(data["files"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"{self.path}: unreadable state file: {exc}") from None
        if data.get("open") != self.params or data.get("out") != self.out:
            raise RecordError(f"{self.path}: state of another recording (open "
                              f"{data.get('open')!r}, output {data.get('out')!r})")

    def repair(self, rotating: bool, gzip: bool) -> tuple[int, int, int]:
        """Cut the capture back to the last commit; remove files made after it."""
        path = output_path(self.out, self.index, rotating)
        actual = os.path.getsize(path) if os.path.exists(path) else 0
        if actual < self.size:
            raise RecordError(f"{path}: {actual} bytes, but the state file says {self.size} "
                              "were committed")
        if actual > self.size:
            with open(path, "r+b") as fh:
                fh.truncate(self.size)
                os.fsync(fh.fileno())
        later = self.index + 1
        while rotating and os.path.exists(output_path(self.out, later, rotating)):
            os.remove(output_path(self.out, later, rotating))
            later += 1
        return self.index, self.events, self.size

    def files_before(self, index: int, rotating: bool) -> list[str]:
        return [output_path(self.out, i, rotating) for i in range(index)]

    def save(self, index, events, size, done_through, failed, files) -> None:
        """Write the state atomically (nothing is written when nothing changed)."""
        done_through = done_through or self.done_through
        if (index, events, size, done_through, failed) == (
                self.index, self.events, self.size, self.done_through, self.failed):
            return
        self.index, self.events, self.size = index, events, size
        self.done_through, self.failed = done_through, failed
        data = {"version": self.VERSION, "open": self.params, "out": self.out, "index": index,
                "events": events, "size": size, "done_through": self.done_through,
                "failed": failed, "files": files}
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dirfd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
