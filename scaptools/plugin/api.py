"""The contract a plugin author implements: events, checkpoints, source and extractor plugins.

A *source plugin* produces events (``open()`` yields ``PluginEvent``s and, after
each durable unit of work, a ``Checkpoint``); an *extractor plugin* exports
fields computed from plugin events. One class may be both (the bundled
``cloudtrail`` plugin is). Plugins are found through the entry-point group
``scaptools.plugins`` and validated when they are registered (``registry.py``);
every problem is a ``PluginError`` naming the plugin (docs/plugin-api.md §2.7,
§2.9; docs/rules-language.md §11).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from scaptools.errors import PluginError
from scaptools.fields.base import FieldInfo

ENTRY_POINT_GROUP = "scaptools.plugins"
API_VERSION = "1.0.0"  # version of this Python plugin API
SYSCALL_SOURCE = "syscall"


@dataclass(frozen=True)
class PluginEvent:
    """One event produced by a source plugin: timestamp in ns since the epoch, opaque payload."""
    ts: int
    payload: bytes


@dataclass(frozen=True)
class Checkpoint:
    """End of one unit of work (an SQS message, an S3 object).

    The consumer makes every event yielded before it durable and only then calls ``ack()``.
    ``info`` names the unit (empty: an idle point, no unit). A recorder with a
    resume state keeps ``(info, version)`` of each unit it committed and hands
    them back to the source's ``resume(seen)`` on a restart. ``keep``: the source
    may give the unit again after its ``ack`` (a file, an S3 object), so its name
    and version are kept for good; False when the acknowledged unit is gone (a
    deleted SQS message), so the name is kept only until the ack succeeded.
    """
    ack: Callable[[], None] = field(default=lambda: None)
    info: str = ""
    version: str = ""
    keep: bool = True


class Plugin:
    """Attributes common to every plugin."""

    name: str = ""
    version: str = "0.0.0"
    desc: str = ""
    required_api_version: str = API_VERSION

    def init(self, config: str) -> None:
        """Configure the plugin from its init-config text (JSON; empty means ``{}``)."""


class SourcePlugin(Plugin):
    """A plugin that produces events of one event source, under a registered numeric id."""

    id: int = 0
    event_source: str = ""

    def open(self, params: str) -> Iterator[PluginEvent | Checkpoint]:
        """Start producing events; raise ``PluginError`` when the source cannot be opened."""
        raise PluginError("this plugin cannot open event streams", self.name)

    def close(self) -> None:
        """Release what ``open`` acquired."""

    def event_to_string(self, event) -> str:
        """One line describing an event (``evt.plugininfo``)."""
        payload = event.payload or b""
        return payload.decode("utf-8", "replace")


class ExtractorPlugin(Plugin):
    """A plugin that exports fields computed from the events of some sources.

    ``extract_sources`` empty means every plugin source (docs/plugin-api.md §2.9; the
    ``syscall`` source is never offered, a deviation docs/json-plugin.md §1.1 allows).
    """

    fields: list[FieldInfo] = []
    extract_sources: list[str] = []

    def extract(self, event, field: str, arg: str | None):
        """The value of ``field[arg]`` for ``event``, or ``None`` when it has none."""
        raise NotImplementedError

    def extractor(self, field: str, arg: str | None) -> Callable[[object], object]:
        """A callable ``fn(event) -> value | None`` for one field and argument.

        Plugins override this to return fast closures; raise ``FieldError`` for a
        bad argument (it becomes a load error of the rule that uses it).
        """
        extract = self.extract
        return lambda event: extract(event, field, arg)


def is_source(plugin) -> bool:
    return isinstance(plugin, SourcePlugin)


def is_extractor(plugin) -> bool:
    return isinstance(plugin, ExtractorPlugin)


def extract_sources_of(plugin) -> set[str] | None:
    """The sources an extractor accepts; ``None`` means every plugin source (§2.9)."""
    sources = {s for s in (getattr(plugin, "extract_sources", None) or []) if s}
    if is_source(plugin) and plugin.event_source:
        sources.add(plugin.event_source)
    return sources or None
