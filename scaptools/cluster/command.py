"""What ``scap replay`` and ``scap test`` call for ``--scheduler`` / ``--scheduler-file``.

Output rules of the CLI (docs/design.md §13) hold: alerts on stdout, byte for byte
those of one process; each damaged capture one ``Error:`` line on stderr (the last
one raised, so the exit code is 1); a scheduler that cannot be reached one line and
exit code 2; a progress bar only when stderr is a terminal.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from scaptools.errors import ScapError


class _Unreachable(click.ClickException):
    exit_code = 2


@contextmanager
def _cluster(scheduler: str | None, scheduler_file: str | None):
    from .connect import SchedulerUnreachable, connect, quiet_dask
    try:
        with quiet_dask(), connect(scheduler, scheduler_file) as client:
            yield client
    except SchedulerUnreachable as exc:
        raise _Unreachable(str(exc)) from None


def replay_on_scheduler(files, scheduler: str | None, scheduler_file: str | None, result,
                        config: dict | None, options: dict, *, tags=(), skip_tags=(),
                        disabled=(), enable_all: bool = False):
    """``scap replay FILES --scheduler ...``: alerts to stdout; returns the statistics
    (``ClusterStats``: its ``lines()`` add the workers used and their rates)."""
    from scaptools.replay.parallel import can_split

    from .bundle import make_bundle
    from .connect import need_dask
    from .s3 import make_client
    from .units import expand_captures
    need_dask()
    bundle = make_bundle(result, config, options, tags=tags, skip_tags=skip_tags,
                         disabled=disabled, enable_all=enable_all)
    captures = expand_captures(files, lambda: make_client(bundle.aws))
    split = can_split([c.name for c in captures], result.ruleset.sources())
    progress = sys.stderr if sys.stderr.isatty() else None  # never in pipes
    sys.stdout.flush()
    with _cluster(scheduler, scheduler_file) as client:
        from .client import replay_on_client
        stats = replay_on_client(client, bundle, captures, sys.stdout, split=split,
                                 progress=progress)
    _raise_errors(stats.errors)
    return stats


def test_on_scheduler(specs: list, scheduler: str | None, scheduler_file: str | None, *,
                      update: bool = False) -> list:
    """``scap test --scheduler ...``: the ``SpecResult`` of every spec, in order."""
    from .connect import need_dask
    need_dask()
    with _cluster(scheduler, scheduler_file) as client:
        from .specs import test_on_client
        return test_on_client(client, specs, update=update)


def _raise_errors(errors: list[str]) -> None:
    """One ``Error:`` line per damaged capture; the last is raised (exit code 1)."""
    from scaptools.cli.main import one_line
    for error in errors[:-1]:
        click.echo(f"Error: {one_line(error)}", err=True)
    if errors:
        raise ScapError(errors[-1])
