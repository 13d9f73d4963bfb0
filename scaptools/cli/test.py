"""``scap test``: replay stored captures and compare with the expected alerts.

Finds ``*.scaptest.yaml`` specs (format: ``scaptools/testing/spec.py``) in the
given files and folders (default: ``captures/`` if it exists, else the
current folder), prints PASS/FAIL per spec with a diff of missing, unexpected
and changed alerts, and exits 1 when any spec fails. A spec that cannot be
checked (malformed, a rules error, a rule name no rules file defines) is one
ERROR line; the other specs still run and the JUnit report is still written.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("test", short_help="Replay stored captures and compare with expected alerts.")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--update", is_flag=True,
              help="Rewrite golden alert files from the current results (review the changes).")
@click.option("--junit", "junit", type=click.Path(dir_okay=False),
              help="Also write a JUnit XML report to FILE.")
@click.option("--mutate", is_flag=True,
              help="Mutation testing: remove/negate each condition clause of each rule "
                   "and report mutations no spec notices.")
@click.option("-q", "--quiet", is_flag=True, help="Print failures and the summary only.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run the specs on a Dask cluster: local:N or a scheduler's address.")
@click.option("--scheduler-file", type=click.Path(dir_okay=False),
              help="Run the specs on the Dask cluster of this scheduler file.")
def test_command(paths, update, junit, mutate, quiet, scheduler=None, scheduler_file=None):
    """Run the regression specs found under PATHS."""
    from scaptools.testing.runner import Replayer, format_result, run_spec

    if not paths:
        paths = ("captures",) if Path("captures").is_dir() else (".",)
    loaded = _load_specs(paths)
    specs = [item for item in loaded if not hasattr(item, "status")]
    replayer = Replayer()
    if scheduler or scheduler_file:  # scale out (scaptools/cluster)
        from scaptools.cluster.command import test_on_scheduler
        ran = iter(test_on_scheduler(specs, scheduler, scheduler_file, update=update)
                   if specs else [])
    else:
        ran = (run_spec(spec, replayer, update=update) for spec in specs)
    # in the order of the spec files; a spec that does not load is its ERROR result
    results = [item if hasattr(item, "status") else next(ran) for item in loaded]
    for result in results:
        if not quiet or not result.ok:
            click.echo("\n".join(format_result(result)))
    failed = [r for r in results if not r.ok]
    updated = sum(r.status == "updated" for r in results)
    summary = f"{len(results)} specs: {len(results) - len(failed)} passed, {len(failed)} failed"
    click.echo(summary + (f", {updated} golden files updated" if updated else ""))
    if junit:
        from scaptools.testing.junit import write_junit
        write_junit(Path(junit), results)
    survivors = 0
    if mutate and not failed:
        survivors = _run_mutations(specs, replayer)
    elif mutate:
        click.echo("mutation testing skipped: the specs must pass first", err=True)
    sys.exit(1 if failed or survivors else 0)


def _load_specs(paths) -> list:
    """Every spec file found under ``paths``, in order: its Spec, or the ERROR result of
    one that does not load."""
    from scaptools.errors import ScapError
    from scaptools.testing.runner import broken_spec
    from scaptools.testing.spec import find_specs, load_spec
    found = find_specs(paths)
    if not found:
        raise click.UsageError(f"no *.scaptest.yaml specs found in {', '.join(paths)}")
    loaded = []
    for path in found:
        try:
            loaded.append(load_spec(path))
        except ScapError as exc:
            loaded.append(broken_spec(path, exc))
    return loaded


def _run_mutations(specs, replayer) -> int:
    from scaptools.testing.mutate import format_report, run_mutations
    report = run_mutations(specs, replayer=replayer)
    click.echo("\n".join(format_report(report)))
    return len(report.survived)
