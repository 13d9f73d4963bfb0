"""The rules of a run as the client loaded and checked them, compiled again on each worker.

Compiled conditions are Python functions made at load time and cannot be sent
over the network; what is sent is a :class:`RulesBundle`: the text of every rules
file in load order (as the client read it, so a worker needs none of the files),
the Falco configuration (which plugins to load), the options and flags of the
engine, the client's host name (alerts name the host of the run, not the worker's)
and time zone. :func:`compile_bundle` turns it into a :class:`Runtime` on arrival.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import time
from dataclasses import dataclass, field
from typing import Callable

from scaptools.errors import ScapError


@dataclass(frozen=True)
class RulesBundle:
    """What a worker needs to build the client's engine and alert formatter."""

    rules: tuple  # ((name, text), ...) in load order
    config: dict = field(default_factory=dict)  # the -c Falco configuration
    options: dict = field(default_factory=dict)  # merged Falco options (-c, -o, --json)
    tags: tuple = ()
    skip_tags: tuple = ()
    disabled: tuple = ()
    enable_all: bool = False
    hostname: str = ""
    tz: str | None = None  # the client's TZ variable, when it has one
    version: str = ""  # scaptools on the client: the workers must run the same

    @property
    def digest(self) -> str:
        """A short name for the bundle, the same for the same rules and options."""
        return hashlib.sha256(pickle.dumps(self, protocol=4)).hexdigest()[:16]

    @property
    def aws(self) -> dict:
        """The ``aws`` block of the configuration (S3 credentials), or empty."""
        block = self.config.get("aws") or {}
        return block if isinstance(block, dict) else {}


@dataclass
class Runtime:
    """A compiled bundle: engine, plugin registry, alert formatter, whether state is kept."""

    engine: object
    registry: object
    fmt: Callable
    track: bool


def make_bundle(result, config: dict | None, options: dict, *, tags=(), skip_tags=(),
                disabled=(), enable_all=False) -> RulesBundle:
    """The bundle of a successful ``load_ruleset`` result and the run's options."""
    from scaptools.fields.generic import hostname
    rules = tuple((name, result.texts[name]) for name in result.files)
    return RulesBundle(rules, dict(config or {}), dict(options), tuple(tags), tuple(skip_tags),
                       tuple(disabled), bool(enable_all), hostname(), os.environ.get("TZ"),
                       scaptools_version())


def scaptools_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("scaptools")
    except PackageNotFoundError:
        return "unknown"


def compile_bundle(bundle: RulesBundle) -> Runtime:
    """Build the engine and formatter of ``bundle`` (on a worker, or anywhere)."""
    from scaptools.engine import load_rules
    from scaptools.plugin.api import SYSCALL_SOURCE
    from scaptools.plugin.falco_config import registry_from_config
    from scaptools.replay.config import alert_formatter, make_engine
    check_version(bundle.version)
    adopt_host_and_zone(bundle.hostname, bundle.tz)
    registry = registry_from_config(bundle.config)
    result = load_rules(list(bundle.rules), registry.fieldset,
                        plugin_versions=registry.versions())
    engine = make_engine(result, bundle.options, tags=bundle.tags, skip_tags=bundle.skip_tags,
                         disabled=bundle.disabled, enable_all=bundle.enable_all)
    track = SYSCALL_SOURCE in result.ruleset.sources()
    return Runtime(engine, registry, alert_formatter(bundle.options), track)


def adopt_host_and_zone(host: str, tz: str | None) -> None:
    """Make this process name the client's host and use its time zone, as the alerts
    of the run do (``evt.hostname`` and the alerts' host are read when the field sets
    and the engine are built; times are formatted in the local zone)."""
    from scaptools.fields.generic import hostname
    if host and hostname() != host:
        os.environ["FALCO_HOSTNAME"] = host
    if tz is not None and os.environ.get("TZ") != tz:
        os.environ["TZ"] = tz
        time.tzset()


def check_version(client_version: str) -> None:
    """Refuse to work for a client of another scaptools version (other rules semantics)."""
    if client_version != scaptools_version():
        raise ScapError(f"the worker runs scaptools {scaptools_version()}, the client "
                        f"{client_version}: install the same version on both")
