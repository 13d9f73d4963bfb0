"""``scap replay``, ``scap validate``, ``scap list-fields``, ``scap list-plugins`` (docs/design.md §13).

Flags mean what they mean in Falco: ``-r`` rules files or directories, ``-c``
a Falco configuration (``plugins:``/``load_plugins:`` and output keys), ``-o``
overrides, ``-t``/``-T`` tags to keep/skip, ``-D`` rules to disable, ``-A``
all events, ``-i`` the events left out without ``-A``. Alerts go to stdout;
errors, warnings and statistics to stderr, where Falco's log lines carry its
timestamp (``time_format_iso_8601`` chooses which).
"""
from __future__ import annotations

import sys

import click

from scaptools.errors import OptionError, PluginError
from scaptools.ops.listing import field_lines, plugin_lines
from scaptools.replay.config import (alert_formatter, config_rules, load_ruleset, log_line,
                                     make_engine, merged_options)

TAGS_CONFLICT = "You can not specify both disabled (-D/-T) and enabled (-t) rules"
UNSUPPORTED = ("Loaded rules match syscalls that are not activated (e.g. were removed via config "
               "settings such as no -A flag or negative base_syscalls elements) or unsupported "
               "with current configuration: warning (unsupported-evttype): ")
UNSUPPORTED_HINT = ("If syscalls in rules include high volume syscalls (-> activate via `-A` "
                    "flag), else syscalls may have been removed via base_syscalls option or "
                    "might be associated with syscalls undefined on your architecture "
                    "(https://marcin.juszkiewicz.com.pl/download/tables/syscalls.html)")

config_option = click.option("-c", "config_path", type=click.Path(exists=True, dir_okay=False),
                             help="Falco configuration file (plugins, output options).")
override_option = click.option("-o", "overrides", multiple=True, metavar="KEY=VALUE",
                               help="Override a configuration option (repeatable).")


def _options(config_path, overrides, min_priority=None) -> tuple[dict, dict]:
    """The configuration and the options, with Falco's refusals."""
    from scaptools.plugin.falco_config import read_falco_config
    config = read_falco_config(config_path) if config_path else {}
    extra = [f"priority={min_priority}"] if min_priority else []
    return config, merged_options(config, [*overrides, *extra])


def _registry(config: dict, options: dict):
    """The plugins the configuration loads; one that fails to load is Falco's runtime
    error, a log line."""
    from scaptools.plugin.falco_config import registry_from_config
    try:
        return registry_from_config(config)
    except PluginError as exc:
        _exit_with_log(f"Runtime error: {exc}. Exiting.", options)


def _setup(config_path, overrides):
    config, options = _options(config_path, overrides)
    return config, options, _registry(config, options)


def _exit_with_log(message: str, options: dict):
    click.echo(log_line(message, options["time_format_iso_8601"]), err=True, nl=False)
    sys.exit(1)


@click.command("replay", short_help="Replay captures through Falco rules.")
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-r", "rules", multiple=True, type=click.Path(exists=True),
              help="Rules file or directory (repeatable; default: rules_files of -c).")
@config_option
@override_option
@click.option("-t", "tags", multiple=True, help="Only run rules with this tag (repeatable).")
@click.option("-T", "skip_tags", multiple=True, help="Disable rules with this tag (repeatable).")
@click.option("-D", "disabled", multiple=True, help="Disable the rule with this name (repeatable).")
@click.option("-A", "enable_all", is_flag=True,
              help="Consider all events, also the high-volume ones left out by default (-i).")
@click.option("-i", "print_ignored", is_flag=True,
              help="Print the events left out without -A, then exit (Falco -i).")
@click.option("--json", "json_output", is_flag=True, help="Print alerts as Falco JSON objects.")
@click.option("--min-priority", help="Skip rules less severe than this priority.")
@click.option("--stats", "show_stats", is_flag=True, help="Print statistics on stderr.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes (plugin rule sets; output order is kept).")
@click.option("--scheduler", metavar="ADDRESS", help="Replay on a Dask cluster: local:N or a "
              "scheduler's address; FILES may be folders, globs, s3://bucket/prefix/.")
@click.option("--scheduler-file", type=click.Path(dir_okay=False),
              help="Replay on the Dask cluster of this scheduler file.")
def replay_command(files, rules, config_path, overrides, tags, skip_tags, disabled, enable_all,
                   print_ignored, json_output, min_priority, show_stats, jobs, scheduler=None,
                   scheduler_file=None):
    """Replay capture FILES (``-`` reads stdin) through the rules given with -r; print alerts."""
    from scaptools.replay.parallel import can_split
    if tags and (skip_tags or disabled):  # Falco refuses this when it reads its options
        raise click.ClickException(TAGS_CONFLICT)
    config, options = _options(config_path, overrides, min_priority)
    if print_ignored:
        _print_ignored()
        return
    registry = _registry(config, options)
    if not files:
        raise click.UsageError("Missing argument 'FILES...'.")
    rules = rules or config_rules(config)
    if not rules:
        raise click.UsageError("no rules: give -r RULES or a -c config with rules_files")
    if json_output:
        options["json_output"] = True
    result = load_ruleset(rules, registry)  # a load error is raised once, by make_engine
    engine = make_engine(result, options, tags=tags, skip_tags=skip_tags, disabled=disabled,
                         enable_all=enable_all)
    if not enable_all:
        _warn_unsupported(engine)
    if jobs > 1 and not can_split(files, result.ruleset.sources()):
        click.echo(log_line("replay: -j needs capture files and no syscall rules (thread state "
                            "is sequential); using one process",
                            options["time_format_iso_8601"]), err=True, nl=False)
        jobs = 1
    if scheduler or scheduler_file:  # scale out (scaptools/cluster)
        from scaptools.cluster.command import replay_on_scheduler
        stats = replay_on_scheduler(files, scheduler, scheduler_file, result, config, options,
                                    tags=tags, skip_tags=skip_tags, disabled=disabled,
                                    enable_all=enable_all)
    else:
        stats = _replay(files, jobs, engine, registry, alert_formatter(options))
    if show_stats:
        for line in stats.lines():
            click.echo(line, err=True)


def _print_ignored() -> None:
    """Falco's ``-i``: the event types left out without ``-A``."""
    from scaptools.fields.syscall import IGNORED_TYPES
    click.echo("Ignored syscall(s):")
    for name in sorted(IGNORED_TYPES):
        click.echo(f"- {name}")
    click.echo()


def _warn_unsupported(engine) -> None:
    """Falco's warning when syscall rules match event types left out without ``-A``."""
    from scaptools.fields.syscall import IGNORED_TYPES
    names = set()
    for rule in engine.rules_for("syscall"):
        names |= IGNORED_TYPES if rule.index_values is None else rule.index_values & IGNORED_TYPES
    if names:
        click.echo(UNSUPPORTED + ", ".join(sorted(names)), err=True)
        click.echo(UNSUPPORTED_HINT, err=True)


def _replay(files, jobs: int, engine, registry, fmt):
    """Alerts to stdout, from ``jobs`` processes or one; returns the statistics."""
    from scaptools.replay.loop import AlertWriter, replay_files
    from scaptools.replay.parallel import replay_parallel
    write = sys.stdout.write
    if jobs > 1:
        sys.stdout.flush()  # forked workers must not inherit buffered output
        stats = replay_parallel(list(files), jobs, lambda: (engine, registry, fmt), write)
    else:
        progress = sys.stderr if sys.stderr.isatty() else None  # never in pipes (docs/design.md §13)
        stats = replay_files(files, engine, registry, AlertWriter(fmt, write), progress=progress)
    sys.stdout.flush()
    return stats


@click.command("validate", short_help="Load and compile rules only (Falco -V).")
@click.option("-r", "rules", multiple=True, required=True, type=click.Path(exists=True),
              help="Rules file or directory (repeatable).")
@config_option
@override_option
def validate_command(rules, config_path, overrides):
    """Load and compile the rules as Falco's -V: each file's state on stdout, with its errors
    (the warnings of a valid file go to stderr as a log line); exit 1 on error."""
    from scaptools.engine.diagnostics import file_report
    _, options, registry = _setup(config_path, overrides)
    result = load_ruleset(rules, registry, keep_going=True)
    entries = []
    for path in result.files:
        errors, warnings = result.of_file(path)
        if warnings and not errors:
            entries.append(f"{path}: Ok, with warnings")
            click.echo(log_line(file_report(result, path), options["time_format_iso_8601"]),
                       err=True, nl=False)
        else:
            entries.append(file_report(result, path))
    for diag in result.errors + result.warnings:
        if diag.location is None:  # not tied to a file (none are, today)
            entries.append(str(diag))
    click.echo("\n".join(entries))
    sys.exit(0 if result.ok else 1)


@click.command("list-fields", short_help="List the fields usable in conditions and outputs.")
@click.option("--source", "source", help="Only the fields of this event source.")
@config_option
def list_fields_command(source, config_path):
    """List the fields of every event source (or of one) with type and description."""
    _, _, registry = _setup(config_path, ())
    try:
        for line in field_lines(registry, source):
            click.echo(line)
    except OptionError as exc:
        raise click.BadParameter(str(exc), param_hint="--source") from None


@click.command("list-plugins", short_help="List the loaded plugins.")
@config_option
def list_plugins_command(config_path):
    """List every loaded plugin: name, version, capabilities, id, source, field count."""
    _, _, registry = _setup(config_path, ())
    for line in plugin_lines(registry):
        click.echo(line)
