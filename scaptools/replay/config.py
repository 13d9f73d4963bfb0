"""From a Falco configuration and rules files to an engine and an alert formatter
(``scap replay``, ``scap validate``, ``scap test``; docs/rules-language.md §10-11).

Options are Falco's defaults, then the ``-c`` file's values, then ``-o KEY=VALUE``
overrides; ``-r`` rules folders stand for their ``*.yaml``/``*.yml`` files.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

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


def load_ruleset(paths: Iterable, registry: Registry):
    """Load and compile rule files for the registry's sources; returns the ``LoadResult``."""
    from scaptools.engine import load_rules
    sources = [str(p) for p in rule_files(paths)]
    return load_rules(sources, registry.fieldset, plugin_versions=registry.versions())


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
        return fmt
    return lambda alert: format_text(alert, iso, clock)


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


def parse_option(text: str) -> tuple[str, object]:
    """``-o KEY=VALUE``: the value is read as a YAML scalar (``true`` -> True)."""
    import yaml
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise RuleError(f"invalid option '{text}' (expected KEY=VALUE)", code="LOAD_ERR_VALIDATE")
    try:
        return key.strip(), yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        return key.strip(), value


def merged_options(config: dict | None, overrides: Iterable[str] = ()) -> dict:
    """Falco defaults, then ``-c`` file values, then ``-o`` overrides."""
    options = dict(DEFAULT_OPTIONS)
    for key in DEFAULT_OPTIONS:
        if config and key in config:
            options[key] = config[key]
    for text in overrides:
        key, value = parse_option(text)
        options[key] = value
    if options["rule_matching"] not in ("first", "all"):
        raise RuleError(f"invalid rule_matching '{options['rule_matching']}' "
                        "(expected first or all)", code="LOAD_ERR_VALIDATE")
    return options
