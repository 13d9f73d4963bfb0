"""What a replay saw (``scap replay --stats``): events by source, alerts by priority and
rule, and which rules the compiled core evaluated and which the Python path (per source:
``core N, python M``, naming the Python ones when a source has both; for a source kept
whole on the Python path, such as ``syscall``, a line per rule that keeps it there,
with the reason)."""
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
    # per source, the rules each path evaluates: {source: {"core": [names], "python": [names]}}
    # and, for a source kept whole in Python by some of its rules, "why": {rule: reason}
    paths: dict = field(default_factory=dict)

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
        if self.alerts_by_rule:
            out.append("Alerts by rule:")
            for rule, count in self.alerts_by_rule.most_common():
                out.append(f"  {rule}: {count}")
        if self.paths:
            out.append("Rules by evaluation path:")
            for source, by_path in sorted(self.paths.items()):
                core, python = by_path.get("core") or [], by_path.get("python") or []
                named = f" ({', '.join(python)})" if core and python else ""
                out.append(f"  {source}: core {len(core)}, python {len(python)}{named}")
                for rule, why in (by_path.get("why") or {}).items():
                    out.append(f"    kept in Python by {rule}: {why}")
        return out

    def add(self, other: ReplayStats) -> None:
        """Count ``other``'s events and alerts too (a parallel worker's share)."""
        self.events += other.events
        self.skipped += other.skipped
        self.by_source.update(other.by_source)
        self.alerts_by_rule.update(other.alerts_by_rule)
        self.alerts_by_priority.update(other.alerts_by_priority)
        self.paths = self.paths or other.paths
