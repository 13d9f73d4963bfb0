"""What an export wrote (the base of each exporter's statistics)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportStats:
    """What an export wrote: events by kind and plugin events by source."""

    syscall: int = 0
    plugin: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.syscall + self.plugin

    def summary(self) -> str:
        """One line: ``events 574: 572 syscall, 2 plugin (aws_cloudtrail 2)`` plus notes."""
        text = f"events {self.total}: {self.syscall} syscall, {self.plugin} plugin"
        if self.by_source:
            text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.by_source.items())) + ")"
        return text + "".join(f", {note}" for note in self.notes())

    def notes(self) -> list[str]:
        """Extra remarks of one export kind (subclasses)."""
        return []
