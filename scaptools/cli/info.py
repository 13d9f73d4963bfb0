"""``scap info FILE [--json]``: what a capture holds (``scaptools.ops.info``).

A truncated, corrupt or damaged file is reported as far as it could be read,
then one line on stderr names the file and the offset of its first fault (exit
code 1).
"""
from __future__ import annotations

import json
import sys

import click

from scaptools.ops.info import summarize, text_lines


@click.command("info", short_help="Summarize a capture: versions, blocks, events, time span.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def info_command(file, as_json):
    """Show format version, byte order, compression, block and event counts of FILE.

    A damaged capture is summarized as far as it can be read: a block cut short or
    malformed ends the walk, and events whose parameter lengths run past their end
    are counted ("damaged") and read past. Then one line on stderr names the file
    and the byte offset of the first fault, and the exit code is 1.
    """
    stdin = file == "-"
    report, fault = summarize(sys.stdin.buffer if stdin else file,
                              src_path="<stdin>" if stdin else None)
    if fault is not None and not report["blocks"]:
        raise fault  # not a capture at all: nothing to summarize
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for line in text_lines(report):
            click.echo(line)
    if fault is not None:
        raise fault
