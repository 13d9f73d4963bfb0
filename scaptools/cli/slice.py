"""``scap slice FILE -w OUT [--start T] [--end T] [FILTER]``: cut a capture, keeping its
state (``scaptools.ops.slice``)."""
from __future__ import annotations

import click

from scaptools.errors import OptionError
from scaptools.ops.slice import cut, event_filter


@click.command("slice", short_help="Cut a capture by time and filter, keeping its state.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]")
@click.option("-w", "out", required=True, metavar="OUT", type=click.Path(dir_okay=False),
              help="Capture to write.")
@click.option("--start", metavar="T", help="First time to keep: ns since the epoch, seconds, "
                                           "ISO 8601 or +N[s|ms|us|ns] after the first event.")
@click.option("--end", metavar="T", help="Last time to keep (same forms as --start; not "
                                         "before it).")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
@click.option("--allow-empty", is_flag=True,
              help="Write OUT even when no event is kept (sysdig cannot read such a capture).")
def slice_command(file, filter_words, out, start, end, compress, allow_empty):
    """Write the events of FILE from --start to --end (and matching FILTER) to OUT, in the
    order of FILE, with the process, fd and user state at the start.

    A slice that keeps no event writes nothing and exits with code 1, unless
    --allow-empty.
    """
    selector = event_filter(" ".join(filter_words)) if filter_words else None
    try:
        written = cut(file, out, start, end, selector, compress, allow_empty)
    except OptionError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"{written} events written to {out}", err=True)
