"""From a Falco configuration and rules files to an engine and an alert formatter
(``scap replay``, ``scap validate``, ``scap test``; docs/rules-language.md §10-11).

Options are Falco's defaults, then the ``-c`` file's values, then ``-o KEY=VALUE``
overrides; ``-r`` rules folders stand for their ``*.yaml``/``*.yml`` files.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

from scaptools.engine.rules.infos import parse_priority
from scaptools.engine.rules.yamlnodes import spelled_bool
from scaptools.errors import RuleError
from scaptools.plugin.falco_config import read_falco_config, registry_from_config
from scaptools.plugin.registry import Registry

RULE_SUFFIXES = (".yaml", ".yml")

# Falco configuration keys replay understands, with Falco's defaults
DEFAULT_OPTIONS = {
    "json_output": False,
    "json_include_output_property": True,
    "json_include_tags_property": True,
    "time_format_iso_8601": False,
    "priority": "debug",
    "rule_matching": "first",
    "json_include_message_property": False,
    "json_include_output_fields_property": True,
}
# the top-level keys of Falco's configuration schema (config_json_schema.h)
FALCO_CONFIG_KEYS = frozenset((
    "append_output", "config_files", "watch_config_files", "rules_files", "rule_files", "rules",
    "engine", "load_plugins", "plugins", "time_format_iso_8601", "priority", "json_output",
    "json_include_output_property", "json_include_message_property",
    "json_include_output_fields_property", "json_include_tags_property", "buffered_outputs",
    "rule_matching", "outputs_queue", "stdout_output", "syslog_output", "file_output",
    "http_output", "program_output", "grpc_output", "grpc", "webserver", "log_stderr",
    "log_syslog", "log_level", "libs_logger", "output_timeout", "syscall_event_timeouts",
    "syscall_event_drops", "metrics", "base_syscalls", "falco_libs", "container_engines",
    "capture", "static_fields", "plugins_hostinfo"))


def read_config(config_path: str | None) -> tuple[dict, Registry]:
    """The Falco configuration file (``{}`` when none) and the registry of the plugins
    it loads."""
    config = read_falco_config(config_path) if config_path else {}
    return config, registry_from_config(config)


def config_rules(config: dict) -> tuple:
    """Falco's ``rules_files`` (or older ``rules_file``) of a configuration; may be empty."""
    value = config.get("rules_files", config.get("rules_file")) or []
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def rule_files(paths: Iterable) -> list[Path]:
    """``-r`` arguments: files as given, directories as their ``*.yaml``/``*.yml`` files sorted."""
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir()
                              if p.is_file() and p.suffix in RULE_SUFFIXES))
        else:
            out.append(path)
    return out


def load_ruleset(paths: Iterable, registry: Registry, keep_going: bool = False):
    """Load and compile rule files for the registry's sources; returns the ``LoadResult``
    (``keep_going``: every file, as Falco's ``-V``)."""
    from scaptools.engine import load_rules
    sources = [str(p) for p in rule_files(paths)]
    return load_rules(sources, registry.fieldset, plugin_versions=registry.versions(),
                      keep_going=keep_going)


def make_engine(result, options: dict, *, tags=(), skip_tags=(), disabled=(), enable_all=False):
    """An ``Engine`` for a successful load, configured from Falco options."""
    from scaptools.engine import Engine
    from scaptools.fields.generic import hostname
    if not result.ok:
        first = result.errors[0]
        raise RuleError(first.message, first.location, first.item_type, first.item_name,
                        first.code)
    return Engine(result.ruleset, rule_matching=str(options["rule_matching"]),
                  min_priority=options.get("priority"), tags=tuple(tags),
                  skip_tags=tuple(skip_tags), disabled=tuple(disabled), enable_all=enable_all,
                  hostname=hostname())


def alert_formatter(options: dict) -> Callable:
    """``alert -> line`` in Falco's text or JSON format, per the options (§10)."""
    from scaptools.engine.output import Clock, dumps_sorted, format_json, format_text
    iso, clock = as_bool(options["time_format_iso_8601"]), Clock()
    if as_bool(options["json_output"]):
        include_output = as_bool(options["json_include_output_property"])
        include_tags = as_bool(options["json_include_tags_property"])
        include_message = as_bool(options.get("json_include_message_property", False))

        def fmt(alert):
            text = format_json(alert, include_output=include_output, include_tags=include_tags,
                               iso8601=iso, include_message=include_message, clock=clock)
            if with_fields:
                return text
            obj = json.loads(text)  # Falco's json_include_output_fields_property: false
            obj.pop("output_fields", None)
            return dumps_sorted(obj)
        with_fields = as_bool(options.get("json_include_output_fields_property", True))
    else:
        def fmt(alert):
            return format_text(alert, iso, clock)
    fmt.options = dict(options)  # what it renders: the compiled loop writes the same lines
    return fmt


def as_bool(value) -> bool:
    if isinstance(value, str):
        return spelled_bool(value.strip()) is True
    return bool(value)


class ConfigOptionError(RuleError):
    """A configuration value Falco refuses; prints as Falco's message alone."""

    def __init__(self, message: str):
        super().__init__(message, code="LOAD_ERR_VALIDATE")

    def __str__(self) -> str:
        return self.message


def parse_option(text: str) -> tuple[str, object]:
    """``-o KEY=VALUE`` as Falco reads it: the value is text, or a YAML mapping when it is
    written ``{...}``."""
    import yaml
    key, sep, value = text.partition("=")
    if not sep:
        raise ConfigOptionError(f'Error parsing config option "{text}". Must be of the form '
                                "key=val or key.subkey=val")
    if value.startswith("{") and value.endswith("}"):
        try:
            return key, yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    return key, value


def merged_options(config: dict | None, overrides: Iterable[str] = ()) -> dict:
    """Falco defaults, then ``-c`` file values, then ``-o`` overrides, checked as Falco checks
    them: an ``-o`` key outside Falco's configuration schema and a value of the wrong
    type are refused, and so are an unknown priority or rule matching strategy."""
    options = dict(DEFAULT_OPTIONS)
    for key in DEFAULT_OPTIONS:
        if config and key in config:
            options[key] = config[key]
    for text in overrides:
        key, value = parse_option(text)
        top = key.split(".", 1)[0].split("[", 1)[0]
        if top not in FALCO_CONFIG_KEYS:
            raise ConfigOptionError("schema validation: failed for <root>: Object contains a "
                                    "property that could not be validated using 'properties' "
                                    f"or 'additionalProperties' constraints: '{top}'.")
        if key in DEFAULT_OPTIONS:
            options[key] = value
    return checked(options)


def checked(options: dict) -> dict:
    """Boolean options as booleans; Falco's refusals of the others."""
    for key, value in options.items():
        if isinstance(DEFAULT_OPTIONS[key], bool) and not isinstance(value, bool):
            decoded = spelled_bool(str(value)) if isinstance(value, str) else None
            if decoded is None:
                raise ConfigOptionError(f"schema validation: failed for <root>[{key}]: Value type "
                                        "not permitted by 'type' constraint.")
            options[key] = decoded
    if parse_priority(str(options["priority"])) is None:
        raise ConfigOptionError(f'Unknown priority "{options["priority"]}"--must be one of '
                                "emergency, alert, critical, error, warning, notice, "
                                "informational, debug")
    if options["rule_matching"] not in ("first", "all"):
        raise ConfigOptionError(f'Unknown rule matching strategy "{options["rule_matching"]}"'
                                "--must be one of first, all")
    return options


def log_line(message: str, iso: bool, now: float | None = None) -> str:
    """``message`` as a line of Falco's log on stderr: the local time as ``ctime`` writes it,
    or with ``time_format_iso_8601`` the UTC time as ``YYYY-MM-DDTHH:MM:SS+0000``."""
    import time
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(now)) if iso \
        else time.asctime(time.localtime(now))
    return f"{stamp}: {message}" + ("" if message.endswith("\n") else "\n")
