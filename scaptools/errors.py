"""The one exception hierarchy of scaptools.

Every error a user can cause (a bad capture, a bad rules file, a failing plugin)
is a ``ScapError``; the CLI turns it into one line on stderr and exit code 1.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a text file something is: file, 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line and self.col:
            return f"{self.path}:{self.line}:{self.col}"
        if self.line:
            return f"{self.path}:{self.line}"
        return self.path


class ScapError(Exception):
    """Root of every scaptools error."""


class FormatError(ScapError):
    """A capture is not valid: names the file, the byte offset and the block type."""

    def __init__(self, message: str, path: str = "<stream>", offset: int | None = None,
                 block_type: int | None = None):
        self.message = message
        self.path = path
        self.offset = offset
        self.block_type = block_type
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.path]
        if self.offset is not None:
            parts.append(f"offset {self.offset:#x}")
        if self.block_type is not None:
            parts.append(f"block {self.block_type:#x}")
        parts.append(self.message)
        return ": ".join(parts)


class TruncatedCapture(FormatError):
    """The capture ends in the middle of a block (every complete event was delivered)."""


class DamagedEvent(FormatError):
    """An event whose parameter lengths run past its end (found when they are read).

    It names the event's offset; the reader that yielded the event fills in the file
    when the error leaves its ``with`` block (see ``CaptureReader.__exit__``).
    """


class RuleError(ScapError):
    """A rules file is wrong: names file:line:col, the item kind and name, and Falco's code."""

    def __init__(self, message: str, location: Location | None = None, item_type: str = "",
                 item_name: str = "", code: str = "LOAD_ERR_COMPILE_CONDITION"):
        self.message = message
        self.location = location
        self.item_type = item_type
        self.item_name = item_name
        self.code = code
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        item = f"{self.item_type} '{self.item_name}': " if self.item_type else ""
        return f"{where}{item}{self.code}: {self.message}"


class PluginError(ScapError):
    """A plugin failed or is misconfigured: names the plugin."""

    def __init__(self, message: str, plugin: str = ""):
        self.message = message
        self.plugin = plugin
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"plugin '{self.plugin}': {self.message}" if self.plugin else self.message


class FieldError(RuleError):
    """A condition or output names a field that does not exist or takes another argument."""


class RecordError(ScapError):
    """Recording failed (source unreachable, output not writable)."""


class OptionError(ScapError):
    """An option value that cannot be read (e.g. a time given to ``scap slice``)."""
