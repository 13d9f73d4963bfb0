"""Falco plugins of the API 3.x (docs/plugin-api.md §2), loaded through ctypes.

The framework declares API 3.12.0 and always passes the complete 3.12 input
structs (``api3_abi``). A library with the sourcing and/or extraction
capability becomes an ordinary ``SourcePlugin``/``ExtractorPlugin``; parsing,
async events and capture listening are not served, so a library offering only
those is refused.
"""
from __future__ import annotations

import json
import threading
import time
from ctypes import POINTER, byref, c_char_p, c_int32, c_uint32, c_void_p, cast, pointer, string_at

from scaptools.errors import PluginError
from scaptools.format.layout import (PARAM_LENGTHS_AT, PLUGIN_HEAD_LEN, PLUGIN_ID_AT,
                                      PLUGIN_NPARAMS, PLUGIN_PARAMS_FIELDS, PLUGINEVENT,
                                      layout_struct)
from scaptools.plugin.api import SYSCALL_SOURCE, Checkpoint, PluginEvent, SourcePlugin
from scaptools.plugin.native.api3_abi import (OWNERS, REQUIRED, SIGNATURES, TABLES, U64_MAX,
                                              EventHeader, EventInput, InitInput,
                                              callback_address)
from scaptools.plugin.native.api3_extract import Extraction
from scaptools.plugin.native.library import RC_EOF, RC_FAILURE, RC_SUCCESS, RC_TIMEOUT, c_text
from scaptools.plugin.versions import parse_library_version, version_text

_SOURCING = ("plugin_open", "plugin_close", "plugin_next_batch")
# a plugin event's two parameter lengths, in host byte order as the plugin wrote them
_LENGTHS = layout_struct(PLUGIN_PARAMS_FIELDS[:2], order="=")
_ID_SIZE = PLUGIN_HEAD_LEN - PLUGIN_ID_AT  # the plugin id parameter: a u32


def load_api3(lib, label: str, required: tuple):
    """The plugin object for an API 3.x library whose required version was accepted."""
    lib.require(REQUIRED, label)
    name = c_text(lib.get_name()) or label
    sourcing, extraction = _capabilities(lib, name)
    cls = {(True, True): Native3SourceExtractor, (True, False): Native3Source,
           (False, True): Native3Extractor}[(sourcing, extraction)]
    return cls(lib, name, required)


def _capabilities(lib, name: str) -> tuple[bool, bool]:
    """Sourcing and extraction, detected from the symbols (§2.3)."""
    has = {sym: getattr(lib, sym[len("plugin_"):]) is not None for sym in SIGNATURES}
    broken = []
    count = sum(has[s] for s in _SOURCING)
    if 0 < count < 3:
        missing = ", ".join(s for s in _SOURCING if not has[s])
        broken.append(f"sourcing capability incomplete ({missing} not present)")
    if has["plugin_extract_fields"] and not has["plugin_get_fields"]:
        broken.append("plugin_extract_fields present without plugin_get_fields")
    if has["plugin_set_async_event_handler"] and not has["plugin_get_async_events"]:
        broken.append("plugin_set_async_event_handler present without plugin_get_async_events")
    if has["plugin_capture_open"] and not has["plugin_capture_close"]:
        broken.append("plugin_capture_open present without plugin_capture_close")
    if broken:
        raise PluginError(f"{lib.path}: broken plugin: {', '.join(broken)}", name)
    sourcing = count == 3
    extraction = has["plugin_get_fields"] and has["plugin_extract_fields"]
    if not (sourcing or extraction):
        other = has["plugin_parse_event"] or has["plugin_get_async_events"] or \
            has["plugin_capture_open"]
        raise PluginError(f"{lib.path}: " + ("only the sourcing and extraction capabilities are "
                          "supported" if other else "plugin has no capability"), name)
    return sourcing, extraction


class _Native3:
    """Identity, state, init and teardown shared by every API 3.x plugin."""

    def __init__(self, lib, name: str, required: tuple):
        self.lib = lib
        self.name = name
        self.version = version_text(parse_library_version(c_text(lib.get_version()), name))
        self.desc = c_text(lib.get_description())
        self.contact = c_text(lib.get_contact())
        self.native_api = ".".join(map(str, required))
        self.state = None
        self.lock = threading.Lock()  # calls on one state are serialised (§4.10)
        self.owner = OWNERS.new(name)
        self._keep = []  # inputs the plugin may still reference (§4.6, §4.7)
        self.event_types = None

    def init(self, config: str) -> None:
        """``init`` with the complete 3.12 init input (§2.6 steps 7 to 9)."""
        if self.state is not None:
            self.close()
        text = _checked_config(self.lib, config or "", self.name)
        init_input = InitInput(text.encode(), self.owner, callback_address("get_owner_last_error"),
                                 pointer(TABLES), callback_address("log_fn"))
        self._keep = [init_input]
        rc = c_int32(RC_FAILURE)  # preset (§4.13)
        state = self.lib.init(byref(init_input), byref(rc))
        if rc.value != RC_SUCCESS:
            error = c_text(self.lib.get_last_error(state)) if state else ""
            if state:
                self.lib.destroy(state)
            raise PluginError(f"init failed: {error or f'rc {rc.value}'}", self.name)
        self.state = state
        self.event_types = _event_types(self.lib, state)

    def _ensure_state(self) -> None:
        if self.state is None:
            self.init("")

    def last_error(self) -> str:
        return c_text(self.lib.get_last_error(self.state)) if self.state else ""

    def close(self) -> None:
        if self.state is not None:
            self.lib.destroy(self.state)
            self.state = None


def _checked_config(lib, config: str, name: str) -> str:
    """An empty config becomes ``{}`` when a JSON schema exists; the config must then
    satisfy it, or the plugin is refused (§2.6 step 7)."""
    if lib.get_init_schema is None:
        return config
    kind = c_int32(0)
    schema = c_text(lib.get_init_schema(byref(kind)))
    if kind.value not in (0, 1):
        raise PluginError(f"plugin_get_init_schema: unknown schema type {kind.value}", name)
    if kind.value != 1 or not schema:
        return config
    config = config or "{}"
    import jsonschema  # only plugins that publish a schema need it
    try:
        jsonschema.validate(json.loads(config), json.loads(schema))
    except ValueError as exc:
        raise PluginError(f"init config is not valid JSON: {exc}", name) from exc
    except jsonschema.ValidationError as exc:
        raise PluginError(f"init config error: {exc.message}", name) from exc
    except jsonschema.SchemaError as exc:
        raise PluginError(f"invalid init schema: {exc.message}", name) from exc
    return config


def _event_types(lib, state) -> set[int] | None:
    """The extraction event types T; ``None`` when the plugin leaves them open (§2.9)."""
    if lib.get_extract_event_types is None:
        return None
    n = c_uint32(0)
    types = lib.get_extract_event_types(byref(n), state)
    return {types[i] for i in range(n.value)} if types and n.value else None


class Native3Extractor(_Native3, Extraction):
    """An API 3.x library with the extraction capability only."""

    def __init__(self, lib, name, required):
        super().__init__(lib, name, required)
        self.init_extraction()


class Native3Source(_Native3, SourcePlugin):
    """An API 3.x library with the sourcing capability (§2.5, §2.6)."""

    def __init__(self, lib, name, required):
        super().__init__(lib, name, required)
        self.id = int(lib.get_id()) if lib.get_id is not None else 0
        self.event_source = c_text(lib.get_event_source()) if lib.get_event_source else ""
        if bool(self.id) != bool(self.event_source):
            raise PluginError(f"{lib.path}: broken plugin: plugin_get_id and "
                              "plugin_get_event_source must both be set or both be empty", name)
        if not self.id:
            raise PluginError(f"{lib.path}: generic source plugins (events of the syscall "
                              "source) are not supported", name)
        if self.event_source == SYSCALL_SOURCE:
            raise PluginError(f"{lib.path}: a plugin source may not be named 'syscall'", name)

    def event_to_string(self, event) -> str:
        """``evt.plugininfo``: the plugin's rendering, or libsinsp's fallback (§2.11)."""
        payload = event.payload or b""
        text = ""
        if self.lib.event_to_string is not None and event.plugin_id == self.id:
            self._ensure_state()
            raw = c_char_p(event.raw)
            evt_in = EventInput(cast(raw, c_void_p).value, event.num or 0,
                                  self.event_source.encode())
            with self.lock:
                text = c_text(self.lib.event_to_string(self.state, byref(evt_in)))
        if text:
            return text
        head = payload[:50]
        shown = head.decode("ascii") + ("..." if len(payload) > 50 else "") \
            if all(32 <= b < 127 for b in head) else "<binary>"
        return f"datalen={len(payload)} data={shown}"

    def open(self, params: str):
        """Events of ``next_batch`` until EOF; TIMEOUT polls again after a short sleep (§2.6)."""
        self._ensure_state()
        rc = c_int32(RC_FAILURE)
        handle = self.lib.open(self.state, (params or "").encode(), byref(rc))
        if rc.value != RC_SUCCESS:
            error = self.last_error()
            if handle:
                self.lib.close(self.state, handle)
            raise PluginError(f"open failed: {error or f'rc {rc.value}'}", self.name)
        return self._events(handle)

    def _events(self, handle):
        count, batch = c_uint32(0), POINTER(c_void_p)()
        try:
            while True:
                with self.lock:
                    rc = self.lib.next_batch(self.state, handle, byref(count), byref(batch))
                    n = count.value if batch else 0
                    copies = [_copy_event(batch[i], self.name) for i in range(n)]
                if rc == RC_SUCCESS and not copies:
                    raise PluginError("unexpected 0 size event returned by plugin", self.name)
                for data in copies:  # delivered before the rc takes effect (§2.6)
                    yield self._fix(data)
                if rc == RC_EOF:
                    yield Checkpoint(info="eof")
                    return
                if rc == RC_TIMEOUT:
                    if not copies:
                        time.sleep(0.01)
                elif rc != RC_SUCCESS:
                    raise PluginError(f"next_batch failed: {self.last_error() or f'rc {rc}'}",
                                      self.name)
        finally:
            self.lib.close(self.state, handle)

    def _fix(self, data: bytes) -> PluginEvent:
        """The §2.5 checks and fix-ups, on our copy of one event."""
        hdr = EventHeader.from_buffer_copy(data)
        if hdr.type != PLUGINEVENT or hdr.nparams != PLUGIN_NPARAMS:
            raise PluginError(f"malformed event of type {hdr.type} with {hdr.nparams} params "
                              "(a plugin event is expected)", self.name)
        id_length, size = _LENGTHS.unpack_from(data, PARAM_LENGTHS_AT)
        if id_length != _ID_SIZE or PLUGIN_HEAD_LEN + size > len(data):
            raise PluginError("malformed plugin event: bad parameter lengths", self.name)
        plugin_id = int.from_bytes(data[PLUGIN_ID_AT:PLUGIN_HEAD_LEN], "little")
        if plugin_id not in (0, self.id):
            raise PluginError(f"event with plugin id {plugin_id}, expected {self.id}", self.name)
        ts = time.time_ns() if hdr.ts == U64_MAX else hdr.ts
        return PluginEvent(ts, data[PLUGIN_HEAD_LEN:PLUGIN_HEAD_LEN + size])


def _copy_event(at: int, name: str) -> bytes:
    """The bytes of one event of a batch, copied at once (§4.4)."""
    if not at:
        raise PluginError("next_batch returned a NULL event", name)
    size = EventHeader.from_address(at).len
    if size < PLUGIN_HEAD_LEN:
        raise PluginError(f"malformed event: length {size}", name)
    return string_at(at, size)


class Native3SourceExtractor(Native3Source, Extraction):
    """An API 3.x library with both the sourcing and the extraction capability."""

    def __init__(self, lib, name, required):
        super().__init__(lib, name, required)
        self.init_extraction()


__all__ = ["load_api3", "Native3Extractor", "Native3Source", "Native3SourceExtractor"]
