"""``scap merge FILE... -w OUT``: one capture ordered by timestamp, nothing dropped
(``scaptools.ops.merge``)."""
from __future__ import annotations

import click

from scaptools.ops.merge import merge


@click.command("merge", short_help="Merge captures by timestamp, keeping every event.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-w", "out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
def merge_command(files, out, compress):
    """Merge FILES into OUT ordered by timestamp (ties keep the input order)."""
    written = merge(files, out, compress)
    click.echo(f"{written} events written to {out}", err=True)
