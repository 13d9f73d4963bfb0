"""``scap convert FILE -w OUT [-z]``: rewrite any capture in the canonical layout
(``scaptools.ops.convert``)."""
from __future__ import annotations

import os
import sys

import click

from scaptools.ops.convert import convert


@click.command("convert", short_help="Rewrite a capture in the canonical layout.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-w", "out", required=True, metavar="OUT",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Capture to write ('-' = stdout).")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
def convert_command(file, out, compress):
    """Rewrite FILE into OUT in the layout sysdig, Falco and tshark all read, keeping the
    order of FILE (`scap merge FILE -w OUT` writes it in time order)."""
    if file != "-" and out != "-" and os.path.exists(out) and os.path.samefile(file, out):
        raise click.BadParameter("the output would overwrite the input", param_hint="-w")
    src = sys.stdin.buffer if file == "-" else file
    dst = sys.stdout.buffer if out == "-" else out
    n = convert(src, dst, gzip=compress, src_path="<stdin>" if file == "-" else None)
    click.echo(f"{n} events written to {out}", err=True)
