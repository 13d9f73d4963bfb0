"""``scap print FILE [FILTER] [-p FORMAT] [-j] [-n N] [-D]``: one line per event
(``scaptools.view.printer``)."""
from __future__ import annotations

import sys

import click

from scaptools.view.printer import PrintOptions, installed_plugins, print_capture


@click.command("print", short_help="Print the events of a capture, sysdig-style.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]")
@click.option("-p", "fmt", help="sysdig format string, e.g. '%evt.num %proc.name'.")
@click.option("-j", "as_json", is_flag=True, help="JSON lines, like sysdig -j.")
@click.option("-n", "count", type=click.IntRange(min=0), help="Stop after N events.")
@click.option("-D", "show_internal", is_flag=True, help="Also print internal events.")
def print_command(file, filter_words, fmt, as_json, count, show_internal):
    """Print one line per event of FILE, in the order of FILE, optionally only those
    matching FILTER.

    FILTER is a Falco/sysdig condition, e.g. "evt.type=open and fd.name contains /etc".
    """
    options = PrintOptions(" ".join(filter_words), fmt, as_json, count, show_internal)
    stdin = file == "-"
    print_capture(sys.stdin.buffer if stdin else file, options,
                  path="<stdin>" if stdin else None, registry=installed_plugins())
