"""What a replay saw (``scap replay --stats``)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReplayStats:
    """What a replay saw: events by source, alerts by rule and by priority, time spent."""

    events: int = 0
    skipped: int = 0  # plugin events whose plugin id no loaded plugin has
    by_source: Counter = field(default_factory=Counter)
    alerts_by_rule: Counter = field(default_factory=Counter)
    alerts_by_priority: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_rule.values())

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """Human-readable statistics (for stderr)."""
        out = [f"Events read: {self.events}",
               f"Elapsed: {self.seconds:.3f} s ({self.rate:,.0f} events/s)"]
        if self.skipped:
            out.append(f"Events of unknown plugins skipped: {self.skipped}")
        for source, count in sorted(self.by_source.items()):
            out.append(f"  source {source}: {count}")
        out.append(f"Alerts: {self.alerts}")
        for prio, count in self.alerts_by_priority.most_common():
            out.append(f"  {prio}: {count}")
        out.append("Alerts by rule:")
        for rule, count in self.alerts_by_rule.most_common():
            out.append(f"  {rule}: {count}")
        return out

    def add(self, other: ReplayStats) -> None:
        """Count ``other``'s events and alerts too (a parallel worker's share)."""
        self.events += other.events
        self.skipped += other.skipped
        self.by_source.update(other.by_source)
        self.alerts_by_rule.update(other.alerts_by_rule)
        self.alerts_by_priority.update(other.alerts_by_priority)
