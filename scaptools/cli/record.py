"""``scap record``: write the events of a source plugin (cloudtrail) into captures.

    scap record -w OUT --plugin cloudtrail --open PARAMS [--init-config JSON]
                [-c falco.yaml] [-z] [--max-events N] [--duration S]
                [--rotate-size BYTES] [--rotate-events N] [--sort] [--state FILE]

``--open``/``--init-config`` default to the ``open_params``/``init_config`` of the
plugin's entry in ``-c``. With rotation the captures are ``OUT.0``, ``OUT.1``, ...
Events are written in file order, or in time order over the whole run with
``--sort``. Problems are reported on stderr as they happen; a summary follows at
the end. A run that records no event exits with code 1 (and leaves no capture
behind, unless ``--state`` keeps it).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

import click

from scaptools.errors import RecordError, ScapError
from scaptools.record.source import source_plugin

if TYPE_CHECKING:  # imported when the command runs, after the source is open
    from scaptools.record.recorder import Recorder


@click.command("record", short_help="Record a source plugin's events (CloudTrail) into captures.")
@click.option("-w", "out", required=True, metavar="OUT", help="Capture to write.")
@click.option("--plugin", "plugin_name", default="cloudtrail", show_default=True,
              help="Source plugin.")
@click.option("--open", "open_params", metavar="PARAMS",
              help="Open params: a file or directory, s3://bucket[/prefix] or sqs://queue.")
@click.option("--init-config", metavar="JSON", help="The plugin's init config.")
@click.option("-c", "config_path", metavar="FALCO_YAML",
              help="Falco configuration: plugins entry with init_config/open_params.")
@click.option("-z", "gzip_", is_flag=True, help="Write gzip-compressed captures.")
@click.option("--max-events", type=click.IntRange(min=1), help="Stop after N events.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="Stop after S seconds (at the end of the log file in progress).")
@click.option("--rotate-size", type=click.IntRange(min=1), metavar="BYTES",
              help="Start OUT.<n+1> once OUT.<n> holds BYTES of events (before gzip).")
@click.option("--rotate-events", type=click.IntRange(min=1), metavar="N",
              help="Start OUT.<n+1> once OUT.<n> holds N events.")
@click.option("--sort", is_flag=True,
              help="Write the whole run in time order (sorted with bounded memory through "
                   "temporary files in TMPDIR; not for sqs://). Without it events are in "
                   "file order.")
@click.option("--state", "state_path", metavar="FILE",
              help="Resume file: an interrupted run started again skips what was recorded.")
def record_command(out, plugin_name, open_params, init_config, config_path, gzip_, max_events,
                   duration, rotate_size, rotate_events, sort, state_path):
    """Record the events of a source plugin (e.g. CloudTrail logs) into a capture.

    Events are written in the order of the log files (file order: `scap info` counts
    the steps back in time), or in time order over the whole run with --sort.
    """
    plugin, params = source_plugin(plugin_name, open_params, init_config, config_path)
    if sort and params.startswith("sqs://"):
        raise click.BadParameter("a queue has no end to sort up to: --sort is for files, "
                                 "folders and S3 prefixes", param_hint="--sort")
    stream = plugin.open(params)  # a source may start reading here, beside the imports below
    from scaptools.record.recorder import Recorder, RecordOptions
    if hasattr(stream, "on_problem"):
        stream.on_problem = _report
    opts = RecordOptions(out=out, gzip=gzip_, max_events=max_events, duration=duration,
                         rotate_size=rotate_size, rotate_events=rotate_events, sort=sort,
                         state_path=state_path,
                         progress=show_progress if sys.stderr.isatty() else None)
    recorder = Recorder(stream, plugin.id, opts, params=params, report=_report)
    try:
        with StopOnSignals(recorder):
            summary = recorder.run()
    finally:
        if opts.progress is not None:
            sys.stderr.write("\r\x1b[K")
    for line in summary.lines():
        click.echo(line, err=True)
    if summary.events == 0 and not summary.resumed:
        if not state_path:  # a capture without events, which sysdig refuses: not kept
            for path in summary.files:
                _remove_empty(path)
        raise RecordError(f"no event was recorded from {params}")


def _remove_empty(path: str) -> None:
    from scaptools.format.reader import open_capture
    try:
        with open_capture(path) as reader:
            if next(iter(reader), None) is None:
                os.remove(path)
    except (OSError, ScapError):
        pass


def _report(message: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")  # over the progress line
    click.echo(f"scap record: {message}", err=True)


def show_progress(recorder: Recorder) -> None:
    """One progress line on the terminal: objects, events, events/s."""
    s, st = recorder.summary, recorder.summary.stats
    rate = s.events / max(time.monotonic() - recorder.started, 1e-9)
    objects = (f"objects {st.objects_done} read of {st.objects_listed}, "
               if hasattr(st, "objects_done") else "")
    sys.stderr.write(f"\r{objects}events {s.events:,} ({rate:,.0f}/s)\x1b[K")
    sys.stderr.flush()


class StopOnSignals:
    """While active, SIGINT/SIGTERM ask the recorder to finish the current unit and stop.

    A second signal raises KeyboardInterrupt; the capture writer delivers it
    between two blocks, so the capture is still closed valid.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, recorder: Recorder):
        self.recorder = recorder
        self._saved = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._saved[sig] = signal.signal(sig, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.recorder.stop_requested:
            raise KeyboardInterrupt
        self.recorder.request_stop(signal.Signals(signum).name)

    def __exit__(self, *exc):
        for sig, previous in self._saved.items():
            signal.signal(sig, previous)
        return False
