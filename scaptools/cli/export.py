"""``scap export``: write a capture for Wireshark (pcapng) or as JSON lines.

``--format wireshark`` writes layout A of docs/wireshark-export.md (a ``.pcapng`` that
Wireshark/tshark 4.0 dissect, not readable by Falco or sysdig); ``--format jsonl``
writes one JSON object per event. ``--lua-path`` prints where the bundled Lua
postdissector is, for opening native ``.scap`` files in Wireshark.
"""
from __future__ import annotations

import sys
from importlib import resources

import click

from ..errors import ScapError

FORMATS = ("wireshark", "jsonl")


def lua_path() -> str:
    """Filesystem path of the bundled ``falcoplugin.lua``."""
    return str(resources.files("scaptools.export").joinpath("falcoplugin.lua"))


@click.command("export", short_help="Write a capture for Wireshark (pcapng) or as JSON lines.")
@click.argument("file", required=False, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-w", "--write", "out", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="wireshark (pcapng) or jsonl; default from the output name "
                   "(.jsonl/.json/.ndjson -> jsonl, else wireshark).")
@click.option("--window", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Wireshark export: events held back to restore timestamp order.")
@click.option("--lua-path", "show_lua", is_flag=True,
              help="Print the path of the Lua postdissector for Wireshark and exit.")
def export_command(file, out, fmt, window, show_lua):
    """Export FILE for Wireshark (pcapng, layout for Wireshark 4.0) or as JSON lines.

    Wireshark export: syscall events stay sysdig event records; each plugin
    event becomes a packet on one interface per plugin, dissected as JSON
    (display filters such as json.member_with_value == "eventName:ConsoleLogin"
    work). Falco and sysdig cannot read the result; keep the .scap for them.
    """
    if show_lua:
        click.echo(lua_path())
        return
    if not file or not out:
        raise click.UsageError("FILE and -w OUT are required (or use --lua-path)")
    fmt = fmt or guess_format(out)
    if fmt == "wireshark" and out.lower().endswith((".scap", ".scap.gz")):
        click.echo(f"warning: {out} will be a Wireshark pcapng that Falco and sysdig cannot "
                   "read; prefer the .pcapng extension", err=True)
    stats = run_export(file, out, fmt, window)
    click.echo(f"{'stdout' if out == '-' else out}: {stats.summary()}", err=True)


def _progress(items, every: int = 8192):
    """Pass ``items`` through, showing a running count on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    count = 0
    try:
        for item in items:
            count += 1
            if count % every == 0:
                sys.stderr.write(f"\rexport: {count} items read")
                sys.stderr.flush()
            yield item
    finally:
        if count >= every:
            sys.stderr.write("\r\033[K")


def _new_state():
    """A fresh process/fd state for the JSON lines export, if the state module exists."""
    try:
        from ..state import State
    except ImportError:
        return None
    return State()


def guess_format(out: str) -> str:
    """The export format implied by the output file name."""
    return "jsonl" if out.lower().endswith((".jsonl", ".json", ".ndjson")) else "wireshark"


def run_export(file: str, out: str, fmt: str, window: int = 4096):
    """Read ``file`` and write ``out`` in ``fmt``; returns the exporter's stats.

    Raises ``ScapError`` for a bad capture (after writing every event before the
    fault) and when the output cannot be written.
    """
    from ..format.reader import open_capture
    from ..export.jsonl import export_jsonl
    from ..export.wireshark import export_wireshark

    source = sys.stdin.buffer if file == "-" else file
    try:
        sink = sys.stdout.buffer if out == "-" else open(out, "wb")
    except OSError as exc:
        raise ScapError(f"{out}: cannot write: {exc.strerror}") from exc
    try:
        with open_capture(source, path="<stdin>" if file == "-" else None) as reader:
            if fmt == "jsonl":
                items = (item for _, item in reader.blocks())
                return export_jsonl(_progress(items), sink, state=_new_state())
            return export_wireshark(_progress(reader), sink, source=reader.path or "",
                                    window=window)
    except BrokenPipeError:
        raise
    except OSError as exc:  # reading errors are ScapErrors already; this is the output
        raise ScapError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    finally:
        if sink is not sys.stdout.buffer:
            try:
                sink.close()
            except OSError:
                pass
