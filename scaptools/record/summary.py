"""What a recording did (``scap record`` prints it at the end)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RecordSummary:
    files: list = field(default_factory=list)
    events: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    elapsed: float = 0.0
    ack_failures: int = 0
    stats: object = None  # the source's counters (objects, records, problems), if it has any
    stopped_by: str = ""
    resumed: bool = False  # a --state run that continued an earlier one

    def lines(self) -> list[str]:
        """The end-of-run summary, one line each."""
        rate = self.events / self.elapsed if self.elapsed > 0 else 0.0
        lines = [f"recorded {self.events} events into {', '.join(self.files) or '-'} in "
                 f"{self.elapsed:.2f} s ({rate:,.0f} events/s)"
                 + (f", stopped: {self.stopped_by}" if self.stopped_by else "")]
        st = self.stats
        if st is not None and hasattr(st, "objects_listed"):
            lines += _source_lines(st, self.ack_failures)
        if self.first_ts is not None:
            lines.append(f"time span: {_iso(self.first_ts)} .. {_iso(self.last_ts)}")
        return lines


def _source_lines(st, ack_failures: int) -> list[str]:
    """The counters of a source that lists objects (files, S3, SQS)."""
    return [
        f"objects: {st.objects_listed} listed, {st.objects_done} read, "
        f"{st.objects_malformed} malformed, {st.objects_failed} failed"
        + (f", {st.already} recorded by an earlier run (skipped)"
           if getattr(st, "already", 0) else "")
        + (f"; SQS messages: {st.messages}" if st.messages else ""),
        f"records: {st.records} read, {st.bad_records} skipped (bad), "
        f"{st.duplicates} duplicates dropped, {st.untimed} without eventTime"
        + (f"; duplicate check: {st.dedupe_forgotten} keys dropped within "
           "their hour (too many records)"
           if getattr(st, "dedupe_forgotten", 0) else ""),
        f"errors: {st.problems} reported, {st.retries} retries, "
        f"{ack_failures} acknowledgements failed"]


def _iso(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"
