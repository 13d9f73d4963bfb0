"""``scap export``: write a capture for Wireshark (pcapng) or as JSON lines
(``scaptools.ops.export``); ``--lua-path`` prints where the bundled Lua
postdissector is, for opening native ``.scap`` files in Wireshark.
"""
from __future__ import annotations

import sys

import click

from scaptools.export import lua_path
from scaptools.ops.export import FORMATS, export_file, guess_format


@click.command("export", short_help="Write a capture for Wireshark (pcapng) or as JSON lines.")
@click.argument("file", required=False, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-w", "out", metavar="OUT", type=click.Path(allow_dash=True, dir_okay=False),
              help="File to write ('-' = stdout).")
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

    Order: JSON lines keep the order of FILE; the Wireshark export restores time order
    within --window events (for a capture further out of order, `scap merge FILE -w
    OUT` first).
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
    stats = export_file(file, out, fmt, window, progress=_progress)
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
