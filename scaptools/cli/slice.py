"""``scap slice FILE -w OUT [--start T] [--end T] [FILTER]``: cut a capture, keeping its
state (``scaptools.ops.slice``)."""
from __future__ import annotations

import click

from scaptools.errors import OptionError
from scaptools.ops.slice import cut, event_filter


@click.command("slice", short_help="Cut a capture by time and filter, keeping its state.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]")
@click.option("-w", "out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("--start", help="First time to keep: ns since the epoch, seconds, ISO 8601 "
                               "or +N[s|ms|us|ns] after the first event.")
@click.option("--end", help="Last time to keep (same forms as --start).")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
def slice_command(file, filter_words, out, start, end, compress):
    """Write the events of FILE between START and END (and matching FILTER) to OUT."""
    selector = event_filter(" ".join(filter_words)) if filter_words else None
    try:
        written = cut(file, out, start, end, selector, compress)
    except OptionError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"{written} events written to {out}", err=True)
