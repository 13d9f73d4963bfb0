"""``scap merge FILE... -w OUT``: one capture in time order, nothing dropped
(``scaptools.ops.merge``)."""
from __future__ import annotations

import click

from scaptools.ops.merge import merge


@click.command("merge", short_help="Merge captures into one in time order, keeping every event.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-w", "out", required=True, metavar="OUT", type=click.Path(dir_okay=False),
              help="Capture to write.")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
def merge_command(files, out, compress):
    """Merge FILES into OUT in time order, whatever the order of each input (events with
    equal times keep the order of FILES, then their order in the file).

    Inputs out of order are sorted with bounded memory through temporary files in
    TMPDIR. Syscall captures of two hosts are refused; the process, fd and user
    tables of syscall captures of one host are joined.
    """
    written = merge(files, out, compress)
    click.echo(f"{written} events written to {out}", err=True)
