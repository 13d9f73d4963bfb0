"""The ``--state`` file of ``scap record`` and the output file names (see ``scaptools.record``).

The state is a journal: a header line, then one JSON line per commit, each
appended and fsynced after the capture's own fsync and before any unit of that
commit is acknowledged. A line names the committed capture position (file
index, events, bytes) and the units whose events lie before it:

- ``done``: units the source may give again (S3 objects, local files), with
  their version (ETag, size). A later run skips a unit whose name and version
  are done, whatever order it comes in, so late objects are never skipped.
- ``unacked``: units that are gone once acknowledged (deleted SQS messages),
  with the commit time; an ``acked`` line drops them after the delete. One
  that comes back is acknowledged again without being recorded twice.

A line cut short by a crash is ignored (the one before it holds). Loading
rewrites the journal as one line (atomically), without the units the source
will never give again (``prunable``) and without unacked units older than
``UNACKED_DAYS``; a journal that grows past ``COMPACT_LINES`` lines is
rewritten the same way. The argument why no record is lost is in
``docs/recording.md``.
"""
from __future__ import annotations

import json
import os
import time

from scaptools.errors import RecordError

UNACKED_DAYS = 14  # an SQS message lives at most 14 days: after that it cannot come back
COMPACT_LINES = 2000  # journal lines before it is rewritten as one


def output_path(out: str, index: int, rotating: bool) -> str:
    """``OUT``, or ``OUT.<index>`` when rotating."""
    return f"{out}.{index}" if rotating else out


class RecordState:
    """The ``--state`` journal: committed capture position and the units it holds."""

    VERSION = 2

    def __init__(self, path: str, params: str, out: str):
        self.path, self.params, self.out = path, params, out
        self.index = self.events = self.size = 0
        self.files: list[str] = []
        self.done: dict[str, str] = {}
        self.unacked: dict[str, float] = {}
        self._lines = 0

    # -- reading --------------------------------------------------------------
    def load(self, prunable=None) -> None:
        """Read the journal if it exists, then rewrite it as one line.

        ``prunable(name)``: True for a done unit the source will never give again.
        RecordError when the file is unreadable or belongs to another recording.
        """
        if not os.path.exists(self.path):
            return
        try:
            with open(self.path, "rb") as fh:
                lines = fh.read().split(b"\n")
        except OSError as exc:
            raise RecordError(f"{self.path}: unreadable state file: {exc}") from None
        torn = lines.pop()  # after the last newline: empty, or a line cut by a crash
        head = self._parse(lines[0] if lines else torn, 1, header=True)
        if head.get("open") != self.params or head.get("out") != self.out:
            raise RecordError(f"{self.path}: state of another recording (open "
                              f"{head.get('open')!r}, output {head.get('out')!r})")
        for number, line in enumerate(lines[1:], 2):
            self._apply(self._parse(line, number))
        self._lines = len(lines)
        if self._forget(prunable) or torn or self._lines > 2:
            self._rewrite()

    def _parse(self, line: bytes, number: int, header: bool = False) -> dict:
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if header and data.get("version") != self.VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            return data
        except ValueError as exc:
            raise RecordError(f"{self.path}:{number}: unreadable state file: {exc}") from None

    def _apply(self, line: dict) -> None:
        try:
            if "size" in line:
                self.index, self.events, self.size = line["index"], line["events"], line["size"]
                self.files = list(line["files"])
            self.done.update(line.get("done", {}))
            self.unacked.update(line.get("unacked", {}))
            for name in line.get("acked", ()):
                self.unacked.pop(name, None)
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"{self.path}: unreadable state file: {exc!r}") from None

    def _forget(self, prunable) -> bool:
        """Drop units that cannot come again; True when some were dropped."""
        before = len(self.done) + len(self.unacked)
        if prunable is not None:
            self.done = {n: v for n, v in self.done.items() if not prunable(n)}
        oldest = time.time() - UNACKED_DAYS * 86400
        self.unacked = {n: t for n, t in self.unacked.items() if t >= oldest}
        return len(self.done) + len(self.unacked) < before

    def seen(self) -> dict[str, str]:
        """name -> version of every unit recorded by earlier runs ("" for unacked ones)."""
        return {**self.done, **dict.fromkeys(self.unacked, "")}

    # -- the capture ----------------------------------------------------------
    def repair(self, rotating: bool) -> tuple[int, int, int]:
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

    # -- writing --------------------------------------------------------------
    def commit(self, index: int, events: int, size: int, files: list[str],
               done: dict[str, str], unacked: list[str]) -> None:
        """Append (and fsync) one commit: the capture position and the units before it.

        Called after the capture's fsync and before the units are acknowledged.
        Nothing is written when nothing changed.
        """
        if (index, events, size) == (self.index, self.events, self.size) and not (
                done or unacked):
            return
        now = round(time.time(), 3)
        self.index, self.events, self.size, self.files = index, events, size, list(files)
        self.done.update(done)
        self.unacked.update(dict.fromkeys(unacked, now))
        self._append({"index": index, "events": events, "size": size, "files": self.files,
                      "done": done, "unacked": dict.fromkeys(unacked, now)}, sync=True)

    def acked(self, names: list[str]) -> None:
        """Units acknowledged (deleted): no longer needed to recognise them.

        Not fsynced: a line lost here only keeps names until they are pruned.
        """
        # a message received twice before its delete (its visibility timeout ran out)
        # has two checkpoints in one commit: name it once
        names = [n for n in dict.fromkeys(names) if n in self.unacked]
        if names:
            for name in names:
                del self.unacked[name]
            self._append({"acked": names}, sync=False)

    def _append(self, line: dict, sync: bool) -> None:
        if not os.path.exists(self.path) or self._lines >= COMPACT_LINES:
            self._rewrite()
            return
        with open(self.path, "ab") as fh:
            fh.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        self._lines += 1

    def _rewrite(self) -> None:
        """The whole state as a header and one line, replacing the file atomically."""
        head = {"version": self.VERSION, "open": self.params, "out": self.out}
        body = {"index": self.index, "events": self.events, "size": self.size,
                "files": self.files, "done": self.done, "unacked": self.unacked}
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(head) + "\n" + json.dumps(body, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dirfd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
        self._lines = 1
