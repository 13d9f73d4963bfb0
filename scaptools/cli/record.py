"""``scap record``: write the events of a source plugin (cloudtrail) into captures.

    scap record -w OUT --plugin cloudtrail --open PARAMS [--init-config JSON]
                [-c falco.yaml] [-z] [--max-events N] [--duration S]
                [--rotate-size BYTES] [--rotate-events N] [--sort] [--state FILE]

``--open``/``--init-config`` default to the ``open_params``/``init_config`` of the
plugin's entry in ``-c``. With rotation the captures are ``OUT.0``, ``OUT.1``, ...
Problems are reported on stderr as they happen; a summary follows at the end.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

import click

from ..errors import PluginError, RecordError

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
@click.option("--sort", is_flag=True, help="Order each log file's records by time.")
@click.option("--state", "state_path", metavar="FILE",
              help="Resume file: an interrupted run started again skips what was recorded.")
def record_command(out, plugin_name, open_params, init_config, config_path, gzip_, max_events,
                   duration, rotate_size, rotate_events, sort, state_path):
    """Record the events of a source plugin (e.g. CloudTrail logs) into a capture."""
    plugin, params = open_plugin(plugin_name, open_params, init_config, config_path)
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
    for line in summary_lines(summary):
        click.echo(line, err=True)


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


def open_plugin(name: str, open_params, init_config, config_path):
    """The initialised source plugin and its open params (``-c`` entry as default)."""
    from scaptools.plugin.falco_config import plugin_configs, read_falco_config
    from scaptools.plugin.registry import Registry
    entry = None
    if config_path:
        entries = [e for e in plugin_configs(read_falco_config(config_path)) if e.name == name]
        if not entries:
            raise PluginError(f"{config_path}: no plugins entry for this plugin", name)
        entry = entries[0]
    registry = Registry.from_entry_points([name])
    plugin = registry.by_name.get(name)
    if plugin is None and entry is not None and entry.library_path:  # a Falco plugin library
        from scaptools.plugin.native import load_native_plugin
        plugin = load_native_plugin(entry.library_path, name)
    if plugin is None or not hasattr(plugin, "open"):
        raise PluginError("no source plugin of this name is installed", name)
    if init_config is None and entry is not None:
        init_config = entry.init_config
    plugin.init(init_config or "")
    params = open_params if open_params is not None else (entry.open_params if entry else "")
    if not params:
        raise RecordError("nothing to record: give --open PARAMS (or open_params in -c)")
    return plugin, params


def summary_lines(s) -> list[str]:
    """The end-of-run summary (stderr)."""
    rate = s.events / s.elapsed if s.elapsed > 0 else 0.0
    lines = [f"recorded {s.events} events into {', '.join(s.files) or '-'} in "
             f"{s.elapsed:.2f} s ({rate:,.0f} events/s)"
             + (f", stopped: {s.stopped_by}" if s.stopped_by else "")]
    st = s.stats
    if st is not None and hasattr(st, "objects_listed"):
        lines.append(f"objects: {st.objects_listed} listed, {st.objects_done} read, "
                     f"{st.objects_malformed} malformed, {st.objects_failed} failed"
                     + (f", {st.already} recorded by an earlier run (skipped)"
                        if getattr(st, "already", 0) else "")
                     + (f"; SQS messages: {st.messages}" if st.messages else ""))
        lines.append(f"records: {st.records} read, {st.bad_records} skipped (bad), "
                     f"{st.duplicates} duplicates dropped, {st.untimed} without eventTime"
                     + (f"; duplicate check: {st.dedupe_forgotten} keys dropped within "
                        "their hour (too many records)"
                        if getattr(st, "dedupe_forgotten", 0) else ""))
        lines.append(f"errors: {st.problems} reported, {st.retries} retries, "
                     f"{s.ack_failures} acknowledgements failed")
    if s.events == 0 and not s.resumed:
        lines.append("warning: no events: sysdig cannot read a capture without events")
    if s.first_ts is not None:
        lines.append(f"time span: {_iso(s.first_ts)} .. {_iso(s.last_ts)}")
    return lines


def _iso(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


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
