"""The legacy Falco plugin API 0.3.0 (docs/plugin-api.md §3): the ABI sysdig 0.29.3 loads.

Source and extractor plugins, string/uint64 fields, ``event_to_string``. A
loaded library becomes an ordinary ``SourcePlugin``/``ExtractorPlugin``, so the
registry, the engine and ``scap replay`` treat it like a Python plugin.
"""
from __future__ import annotations

import json
import threading
import time
from ctypes import (POINTER, Structure, byref, c_bool, c_char_p, c_int32, c_uint32, c_uint64,
                    c_void_p, cast, create_string_buffer, string_at)

from scaptools.errors import FieldError, PluginError
from scaptools.fields.base import ARG_REQUIRED, FieldInfo
from scaptools.plugin.api import Checkpoint, ExtractorPlugin, PluginEvent, SourcePlugin
from scaptools.plugin.native.library import (RC_EOF, RC_FAILURE, RC_SUCCESS, RC_TIMEOUT, Library,
                                             c_text)
from scaptools.plugin.versions import parse_library_version, version_text

TYPE_SOURCE, TYPE_EXTRACTOR = 1, 2  # §3.1
FTYPES = {"string": 9, "uint64": 8}  # §3.6
LEGACY_API = (0, 3, 0)
_NO_TS = 0xFFFFFFFFFFFFFFFF


class LegacyEvent(Structure):
    """``ss_plugin_event`` of API 0.3.0: 32 bytes, natural alignment (§3.3)."""
    _fields_ = [("evtnum", c_uint64), ("data", c_void_p), ("datalen", c_uint32), ("ts", c_uint64)]


class LegacyExtractField(Structure):
    """``ss_plugin_extract_field`` of API 0.3.0: 48 bytes (§3.3)."""
    _fields_ = [("field_id", c_uint32), ("field", c_char_p), ("arg", c_char_p),
                ("ftype", c_uint32), ("field_present", c_bool), ("res_str", c_char_p),
                ("res_u64", c_uint64)]


SIGNATURES = {  # symbol -> (restype, argtypes) (§3.2); every one declared before use (§4.2)
    "plugin_get_required_api_version": (c_char_p, []),
    "plugin_get_type": (c_uint32, []),
    "plugin_init": (c_void_p, [c_char_p, POINTER(c_int32)]),
    "plugin_destroy": (None, [c_void_p]),
    "plugin_get_last_error": (c_char_p, [c_void_p]),
    "plugin_get_name": (c_char_p, []),
    "plugin_get_description": (c_char_p, []),
    "plugin_get_version": (c_char_p, []),
    "plugin_get_id": (c_uint32, []),
    "plugin_get_event_source": (c_char_p, []),
    "plugin_get_fields": (c_char_p, []),
    "plugin_get_extract_event_sources": (c_char_p, []),
    "plugin_open": (c_void_p, [c_void_p, c_char_p, POINTER(c_int32)]),
    "plugin_close": (None, [c_void_p, c_void_p]),
    "plugin_next_batch": (c_int32, [c_void_p, c_void_p, POINTER(c_uint32),
                                    POINTER(POINTER(LegacyEvent))]),
    "plugin_event_to_string": (c_char_p, [c_void_p, c_char_p, c_uint32]),
    "plugin_extract_fields": (c_int32, [c_void_p, POINTER(LegacyEvent), c_uint32,
                                        POINTER(LegacyExtractField)]),
}
_REQUIRED = ["plugin_get_required_api_version", "plugin_get_type", "plugin_init",
             "plugin_destroy", "plugin_get_last_error", "plugin_get_name",
             "plugin_get_description", "plugin_get_version"]
_SOURCE_REQUIRED = ["plugin_get_id", "plugin_get_event_source", "plugin_open", "plugin_close",
                    "plugin_next_batch", "plugin_event_to_string"]


def load_legacy(lib: Library, label: str):
    """The plugin object for an API 0.3.0 library whose required version was accepted."""
    lib.declare(SIGNATURES)
    lib.require(_REQUIRED, label)
    kind = lib.get_type()
    if kind == TYPE_SOURCE:
        lib.require(_SOURCE_REQUIRED, label)
        return LegacySourcePlugin(lib)
    if kind == TYPE_EXTRACTOR:
        lib.require(["plugin_get_fields", "plugin_extract_fields"], label)
        return LegacyExtractorPlugin(lib)
    raise PluginError(f"{lib.path}: unknown plugin type {kind}", label)


def read_fields(lib: Library, name: str) -> list[FieldInfo]:
    """The fields JSON of API 0.3.0 (§3.6); only string and uint64 are accepted."""
    if lib.get_fields is None:
        return []
    try:
        items = json.loads(c_text(lib.get_fields()))
    except ValueError as exc:
        raise PluginError(f"plugin_get_fields: invalid JSON: {exc}", name) from exc
    if not isinstance(items, list):
        raise PluginError("plugin_get_fields: not a JSON array", name)
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name") or not item.get("desc") \
                or item.get("type") not in FTYPES:
            raise PluginError(f"plugin_get_fields: invalid field {item!r}", name)
        required = item.get("argRequired", False)
        if not isinstance(required, bool):
            raise PluginError(f"field '{item['name']}': argRequired must be a bool", name)
        # sysdig never enforces argRequired (§3.4); an argument is allowed on every field
        out.append(FieldInfo(item["name"], item["type"], arg=ARG_REQUIRED if required else
                             "optional", arg_kind="key", desc=item["desc"], provider=name))
    return out


class _LegacyBase(ExtractorPlugin):
    """State, identity and extraction shared by legacy source and extractor plugins."""

    def __init__(self, lib: Library):
        self.lib = lib
        self.name = c_text(lib.get_name())
        self.version = version_text(parse_library_version(c_text(lib.get_version()), self.name))
        self.desc = c_text(lib.get_description())
        self.fields = read_fields(lib, self.name)
        self.state = None
        self.lock = threading.Lock()  # calls on one state are serialised (§4.10)
        self._ids = {f.name: i for i, f in enumerate(self.fields)}
        self._types = {f.name: FTYPES[f.type] for f in self.fields}

    def init(self, config: str) -> None:
        rc = c_int32(RC_FAILURE)  # preset to FAILURE (§4.13)
        state = self.lib.init((config or "").encode(), byref(rc))
        if rc.value != RC_SUCCESS:
            error = c_text(self.lib.get_last_error(state)) if state else ""
            if state:
                self.lib.destroy(state)
            raise PluginError(f"init failed: {error or rc.value}", self.name)
        self.state = state

    def _ensure_state(self) -> None:
        if self.state is None:
            self.init("")

    def extractor(self, field: str, arg: str | None):
        if field not in self._ids:
            raise FieldError(f"filter_check called with nonexistent field {field}")
        request = LegacyExtractField(self._ids[field], field.encode(),
                                     (arg or "").encode(), self._types[field])
        is_string = self._types[field] == 9
        counter = [0]

        def extract(event):
            payload = event.payload
            if payload is None:
                return None
            self._ensure_state()
            counter[0] += 1
            buf = create_string_buffer(payload, len(payload))
            evt = LegacyEvent(event.num or counter[0], cast(buf, c_void_p), len(payload),
                              event.ts)
            with self.lock:
                request.field_present = False
                rc = self.lib.extract_fields(self.state, byref(evt), 1, byref(request))
                if rc != RC_SUCCESS or not request.field_present:
                    return None
                # results live until the next call: copy them now (§4.5)
                return c_text(request.res_str) if is_string else int(request.res_u64)
        return extract

    def extract(self, event, field: str, arg: str | None):
        return self.extractor(field, arg)(event)

    def close(self) -> None:
        if self.state is not None:
            self.lib.destroy(self.state)
            self.state = None


class LegacyExtractorPlugin(_LegacyBase):
    """An API 0.3.0 extractor library."""

    def __init__(self, lib: Library):
        super().__init__(lib)
        sources = []
        if lib.get_extract_event_sources is not None:
            try:
                sources = json.loads(c_text(lib.get_extract_event_sources()))
            except ValueError as exc:
                raise PluginError(f"invalid extract event sources: {exc}", self.name) from exc
        self.extract_sources = [s for s in sources if isinstance(s, str) and s]


class LegacySourcePlugin(_LegacyBase, SourcePlugin):
    """An API 0.3.0 source library (its fields apply to its own events only, §3.5)."""

    def __init__(self, lib: Library):
        super().__init__(lib)
        self.id = int(lib.get_id())
        self.event_source = c_text(lib.get_event_source())
        self.extract_sources = []

    def event_to_string(self, event) -> str:
        payload = event.payload or b""
        self._ensure_state()
        with self.lock:
            return c_text(self.lib.event_to_string(self.state, payload, len(payload)))

    def open(self, params: str):
        """Events of ``next_batch`` until EOF; TIMEOUT polls again after a short sleep (§3.4)."""
        self._ensure_state()
        rc = c_int32(RC_FAILURE)
        handle = self.lib.open(self.state, (params or "").encode(), byref(rc))
        if rc.value != RC_SUCCESS:
            error = c_text(self.lib.get_last_error(self.state))
            self.lib.close(self.state, handle)  # libscap closes even a failed open
            raise PluginError(f"open failed: {error or rc.value}", self.name)
        return self._events(handle)

    def _events(self, handle):
        count, batch = c_uint32(0), POINTER(LegacyEvent)()
        try:
            while True:
                with self.lock:
                    rc = self.lib.next_batch(self.state, handle, byref(count), byref(batch))
                    items = [(batch[i].ts, string_at(batch[i].data, batch[i].datalen))
                             for i in range(count.value)] if rc != RC_SUCCESS or count.value \
                        else None
                if items is None:
                    raise PluginError("next_batch returned SUCCESS with no events", self.name)
                for ts, data in items:  # delivered before the rc takes effect (§5)
                    yield PluginEvent(time.time_ns() if ts == _NO_TS else ts, data)
                if rc == RC_EOF:
                    yield Checkpoint(info="eof")
                    return
                if rc == RC_TIMEOUT:
                    time.sleep(0.01)
                elif rc != RC_SUCCESS:
                    error = c_text(self.lib.get_last_error(self.state))
                    raise PluginError(f"next_batch failed: {error or rc}", self.name)
        finally:
            self.lib.close(self.state, handle)


__all__ = ["load_legacy", "LegacySourcePlugin", "LegacyExtractorPlugin"]
