"""``scap convert FILE -w OUT [-z]``: rewrite any capture in the canonical layout.

The output is what ``CaptureWriter`` writes (docs/format.md §11): little-endian,
section header 1.2, metadata carried over before the first event, v2 event
blocks. Old v1 events come out as v2 events with the same parameters. If the
input is truncated, the output still holds every complete event and the error
is reported (exit code 1).
"""
from __future__ import annotations

import os
import sys
import warnings

import click

from ..format.blocks import Block
from ..format.reader import open_capture
from ..format.writer import CaptureWriter


def convert(src, dst, *, gzip: bool = False, src_path: str | None = None) -> int:
    """Copy every metadata block and event of ``src`` into a canonical capture ``dst``.

    Returns the number of events written. Raises ScapError for a bad input (the
    output is closed as a valid capture first).
    """
    with open_capture(src, path=src_path) as reader, CaptureWriter(dst, gzip=gzip) as writer:
        for _, item in reader.blocks():
            if not isinstance(item, Block):
                writer.write(item)
            elif item.known and writer.events_written == 0:
                writer.write_metadata(item)
            elif item.known and item.type != 0x0A0D0D0A:
                warnings.warn(f"{reader.path}: offset {item.offset:#x}: metadata block after "
                              f"events dropped (the canonical layout has one section)",
                              stacklevel=2)
        return writer.events_written


@click.command("convert", short_help="Rewrite a capture in the canonical layout.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-w", "out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Output capture ('-' = stdout).")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
def convert_command(file, out, compress):
    """Rewrite FILE into OUT in the layout sysdig, Falco and tshark all read."""
    if file != "-" and out != "-" and os.path.exists(out) and os.path.samefile(file, out):
        raise click.BadParameter("the output would overwrite the input", param_hint="-w")
    src = sys.stdin.buffer if file == "-" else file
    dst = sys.stdout.buffer if out == "-" else out
    n = convert(src, dst, gzip=compress, src_path="<stdin>" if file == "-" else None)
    click.echo(f"{n} events written to {out}", err=True)
