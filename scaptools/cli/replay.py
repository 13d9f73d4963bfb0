"""``scap replay``, ``scap validate``, ``scap list-fields``, ``scap list-plugins`` (docs/design.md §13).

Flags mean what they mean in Falco: ``-r`` rules files or directories, ``-c``
a Falco configuration (``plugins:``/``load_plugins:`` and output keys), ``-o``
overrides, ``-t``/``-T`` tags to keep/skip, ``-D`` rules to disable, ``-A``
all events. Alerts go to stdout, diagnostics and statistics to stderr.
"""
from __future__ import annotations

import sys

import click

from scaptools.errors import OptionError
from scaptools.ops.listing import field_lines, plugin_lines
from scaptools.replay.config import (alert_formatter, config_rules, load_ruleset, make_engine,
                                     merged_options, read_config)


def _print_errors(result) -> None:
    for diag in result.errors:
        click.echo(str(diag), err=True)


@click.command("replay", short_help="Replay captures through Falco rules.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-r", "rules", multiple=True, type=click.Path(exists=True),
              help="Rules file or directory (repeatable; default: rules_files of -c).")
@click.option("-c", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Falco configuration file (plugins, output options).")
@click.option("-o", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration option (repeatable).")
@click.option("-t", "tags", multiple=True, help="Only run rules with this tag (repeatable).")
@click.option("-T", "skip_tags", multiple=True, help="Disable rules with this tag (repeatable).")
@click.option("-D", "disabled", multiple=True, help="Disable the rule with this name (repeatable).")
@click.option("-A", "enable_all", is_flag=True, help="Consider all events (Falco -A).")
@click.option("--json", "json_output", is_flag=True, help="Print alerts as Falco JSON objects.")
@click.option("--min-priority", help="Skip rules less severe than this priority.")
@click.option("--stats", "show_stats", is_flag=True, help="Print statistics on stderr.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes (plugin rule sets; output order is kept).")
def replay_command(files, rules, config_path, overrides, tags, skip_tags, disabled, enable_all,
                   json_output, min_priority, show_stats, jobs):
    """Replay capture FILES (``-`` reads stdin) through the rules given with -r; print alerts."""
    from scaptools.replay.parallel import can_split
    config, registry = read_config(config_path)
    rules = rules or config_rules(config)
    if not rules:
        raise click.UsageError("no rules: give -r RULES or a -c config with rules_files")
    options = merged_options(config, overrides)
    if json_output:
        options["json_output"] = True
    if min_priority:
        options["priority"] = min_priority
    result = load_ruleset(rules, registry)
    if not result.ok:
        _print_errors(result)
    engine = make_engine(result, options, tags=tags, skip_tags=skip_tags, disabled=disabled,
                         enable_all=enable_all)
    if jobs > 1 and not can_split(files, result.ruleset.sources()):
        click.echo("replay: -j needs capture files and no syscall rules (thread state is "
                   "sequential); using one process", err=True)
        jobs = 1
    stats = _replay(files, jobs, engine, registry, alert_formatter(options))
    if show_stats:
        for line in stats.lines():
            click.echo(line, err=True)


def _replay(files, jobs: int, engine, registry, fmt):
    """Alerts to stdout, from ``jobs`` processes or one; returns the statistics."""
    from scaptools.replay.loop import replay_files
    from scaptools.replay.parallel import replay_parallel
    write = sys.stdout.write
    if jobs > 1:
        sys.stdout.flush()  # forked workers must not inherit buffered output
        stats = replay_parallel(list(files), jobs, lambda: (engine, registry, fmt), write)
    else:
        progress = sys.stderr if sys.stderr.isatty() else None  # never in pipes (docs/design.md §13)
        stats = replay_files(files, engine, registry, lambda alert: write(fmt(alert) + "\n"),
                             progress=progress)
    sys.stdout.flush()
    return stats


@click.command("validate", short_help="Load and compile rules only (Falco -V).")
@click.option("-r", "rules", multiple=True, required=True, type=click.Path(exists=True),
              help="Rules file or directory (repeatable).")
@click.option("-c", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Falco configuration file (which plugins are loaded).")
@click.pass_context
def validate_command(ctx, rules, config_path):
    """Load and compile the rules, print every error and warning; exit 1 on error."""
    _, registry = read_config(config_path)
    result = load_ruleset(rules, registry)
    for line in result.summary():  # per-file state, then every error and warning (§12)
        click.echo(line)
    ctx.exit(0 if result.ok else 1)


@click.command("list-fields", short_help="List the fields usable in conditions and outputs.")
@click.option("--source", "source", help="Only the fields of this event source.")
@click.option("-c", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Falco configuration file (which plugins are loaded).")
def list_fields_command(source, config_path):
    """List the fields of every event source (or of one) with type and description."""
    _, registry = read_config(config_path)
    try:
        for line in field_lines(registry, source):
            click.echo(line)
    except OptionError as exc:
        raise click.BadParameter(str(exc), param_hint="--source") from None


@click.command("list-plugins", short_help="List the loaded plugins.")
@click.option("-c", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Falco configuration file (which plugins are loaded).")
def list_plugins_command(config_path):
    """List every loaded plugin: name, version, capabilities, id, source, field count."""
    _, registry = read_config(config_path)
    for line in plugin_lines(registry):
        click.echo(line)
