"""Falco plugins compiled as shared libraries, loaded through the C ABI with ctypes.

Both ABIs of docs/plugin-api.md are served, chosen by the required API version (§1):
API 3.x (Falco 0.35 and later) in ``native3``, declaring 3.12.0; and here the
legacy API 0.3.0 (§3), the ABI that sysdig 0.29.3 loads (source and extractor
plugins, string/uint64 fields, ``event_to_string``).
A loaded library becomes an ordinary ``SourcePlugin``/``ExtractorPlugin``, so
the registry, the engine and ``scap replay`` treat it like a Python plugin.
"""
from __future__ import annotations

import ctypes as C
import json
import threading
import time

from scaptools.errors import FieldError, PluginError
from scaptools.fields.base import ARG_REQUIRED, FieldInfo
from scaptools.plugin.api import Checkpoint, ExtractorPlugin, PluginEvent, SourcePlugin
from scaptools.plugin.versions import compatible, parse_library_version, version_text

RC_SUCCESS, RC_FAILURE, RC_TIMEOUT, RC_EOF = 0, 1, -1, 2  # §2.1
TYPE_SOURCE, TYPE_EXTRACTOR = 1, 2  # §3.1
FTYPES = {"string": 9, "uint64": 8}  # §3.6
LEGACY_API = (0, 3, 0)
_NO_TS = 0xFFFFFFFFFFFFFFFF


class LegacyEvent(C.Structure):
    """``ss_plugin_event`` of API 0.3.0: 32 bytes, natural alignment (§3.3)."""
    _fields_ = [("evtnum", C.c_uint64), ("data", C.c_void_p), ("datalen", C.c_uint32),
                ("ts", C.c_uint64)]


class LegacyExtractField(C.Structure):
    """``ss_plugin_extract_field`` of API 0.3.0: 48 bytes (§3.3)."""
    _fields_ = [("field_id", C.c_uint32), ("field", C.c_char_p), ("arg", C.c_char_p),
                ("ftype", C.c_uint32), ("field_present", C.c_bool), ("res_str", C.c_char_p),
                ("res_u64", C.c_uint64)]


_SIGNATURES = {  # symbol -> (restype, argtypes) (§3.2); every one declared before use (§4.2)
    "plugin_get_required_api_version": (C.c_char_p, []),
    "plugin_get_type": (C.c_uint32, []),
    "plugin_init": (C.c_void_p, [C.c_char_p, C.POINTER(C.c_int32)]),
    "plugin_destroy": (None, [C.c_void_p]),
    "plugin_get_last_error": (C.c_char_p, [C.c_void_p]),
    "plugin_get_name": (C.c_char_p, []),
    "plugin_get_description": (C.c_char_p, []),
    "plugin_get_version": (C.c_char_p, []),
    "plugin_get_id": (C.c_uint32, []),
    "plugin_get_event_source": (C.c_char_p, []),
    "plugin_get_fields": (C.c_char_p, []),
    "plugin_get_extract_event_sources": (C.c_char_p, []),
    "plugin_open": (C.c_void_p, [C.c_void_p, C.c_char_p, C.POINTER(C.c_int32)]),
    "plugin_close": (None, [C.c_void_p, C.c_void_p]),
    "plugin_next_batch": (C.c_int32, [C.c_void_p, C.c_void_p, C.POINTER(C.c_uint32),
                                      C.POINTER(C.POINTER(LegacyEvent))]),
    "plugin_event_to_string": (C.c_char_p, [C.c_void_p, C.c_char_p, C.c_uint32]),
    "plugin_extract_fields": (C.c_int32, [C.c_void_p, C.POINTER(LegacyEvent), C.c_uint32,
                                          C.POINTER(LegacyExtractField)]),
}
_REQUIRED = ["plugin_get_required_api_version", "plugin_get_type", "plugin_init",
             "plugin_destroy", "plugin_get_last_error", "plugin_get_name",
             "plugin_get_description", "plugin_get_version"]
_SOURCE_REQUIRED = ["plugin_get_id", "plugin_get_event_source", "plugin_open", "plugin_close",
                    "plugin_next_batch", "plugin_event_to_string"]


def _text(raw) -> str:
    return raw.decode("utf-8", "replace") if raw is not None else ""


class _Library:
    """The symbols of one shared object, typed."""

    def __init__(self, path: str):
        try:
            self.lib = C.CDLL(path)  # RTLD_NOW | RTLD_LOCAL, never RTLD_GLOBAL (§4.1)
        except OSError as exc:
            raise PluginError(f"cannot load {path}: {exc}") from exc
        self.path = path
        self.declare(_SIGNATURES)

    def declare(self, signatures: dict) -> None:
        """Type the symbols for one ABI (the two ABIs share names, not signatures)."""
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(self.lib, name, None)
            if fn is not None:
                fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name[len("plugin_"):], fn)

    def require(self, names, plugin: str) -> None:
        for name in names:
            if getattr(self, name[len("plugin_"):]) is None:
                raise PluginError(f"{self.path}: dynamic library symbol {name} not present",
                                  plugin)


def load_native_plugin(path: str, name: str = ""):
    """Load the Falco plugin at ``path``; a ``SourcePlugin``/``ExtractorPlugin`` instance."""
    from scaptools.plugin.native import api3 as native3, abi3 as native3_abi
    lib = _Library(path)
    label = name or path
    lib.require(["plugin_get_required_api_version"], label)
    required = parse_library_version(_text(lib.get_required_api_version()), label)
    if required[0] == 3:
        if not compatible(native3_abi.FRAMEWORK_API, required):
            raise PluginError(f"{path}: plugin requires API {'.'.join(map(str, required))}, "
                              "but the framework provides 3.12.0 and 0.3.0", label)
        lib.declare(native3_abi.SIGNATURES)
        return native3.load_v3(lib, label, required)
    if not compatible(LEGACY_API, required):
        raise PluginError(f"{path}: plugin requires API {'.'.join(map(str, required))}, but "
                          "the framework provides 3.12.0 and 0.3.0", label)
    lib.require(_REQUIRED, label)
    kind = lib.get_type()
    if kind == TYPE_SOURCE:
        lib.require(_SOURCE_REQUIRED, label)
        return LegacySourcePlugin(lib)
    if kind == TYPE_EXTRACTOR:
        lib.require(["plugin_get_fields", "plugin_extract_fields"], label)
        return LegacyExtractorPlugin(lib)
    raise PluginError(f"{path}: unknown plugin type {kind}", label)


def read_fields(lib: _Library, name: str) -> list[FieldInfo]:
    """The fields JSON of API 0.3.0 (§3.6); only string and uint64 are accepted."""
    if lib.get_fields is None:
        return []
    try:
        items = json.loads(_text(lib.get_fields()))
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

    def __init__(self, lib: _Library):
        self.lib = lib
        self.name = _text(lib.get_name())
        self.version = version_text(parse_library_version(_text(lib.get_version()), self.name))
        self.desc = _text(lib.get_description())
        self.fields = read_fields(lib, self.name)
        self.state = None
        self.lock = threading.Lock()  # calls on one state are serialised (§4.10)
        self._ids = {f.name: i for i, f in enumerate(self.fields)}
        self._types = {f.name: FTYPES[f.type] for f in self.fields}

    def init(self, config: str) -> None:
        rc = C.c_int32(RC_FAILURE)  # preset to FAILURE (§4.13)
        state = self.lib.init((config or "").encode(), C.byref(rc))
        if rc.value != RC_SUCCESS:
            error = _text(self.lib.get_last_error(state)) if state else ""
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
            buf = C.create_string_buffer(payload, len(payload))
            evt = LegacyEvent(event.num or counter[0], C.cast(buf, C.c_void_p), len(payload),
                              event.ts)
            with self.lock:
                request.field_present = False
                rc = self.lib.extract_fields(self.state, C.byref(evt), 1, C.byref(request))
                if rc != RC_SUCCESS or not request.field_present:
                    return None
                # results live until the next call: copy them now (§4.5)
                return _text(request.res_str) if is_string else int(request.res_u64)
        return extract

    def extract(self, event, field: str, arg: str | None):
        return self.extractor(field, arg)(event)

    def close(self) -> None:
        if self.state is not None:
            self.lib.destroy(self.state)
            self.state = None


class LegacyExtractorPlugin(_LegacyBase):
    """An API 0.3.0 extractor library."""

    def __init__(self, lib: _Library):
        super().__init__(lib)
        sources = []
        if lib.get_extract_event_sources is not None:
            try:
                sources = json.loads(_text(lib.get_extract_event_sources()))
            except ValueError as exc:
                raise PluginError(f"invalid extract event sources: {exc}", self.name) from exc
        self.extract_sources = [s for s in sources if isinstance(s, str) and s]


class LegacySourcePlugin(_LegacyBase, SourcePlugin):
    """An API 0.3.0 source library (its fields apply to its own events only, §3.5)."""

    def __init__(self, lib: _Library):
        super().__init__(lib)
        self.id = int(lib.get_id())
        self.event_source = _text(lib.get_event_source())
        self.extract_sources = []

    def event_to_string(self, event) -> str:
        payload = event.payload or b""
        self._ensure_state()
        with self.lock:
            return _text(self.lib.event_to_string(self.state, payload, len(payload)))

    def open(self, params: str):
        """Events of ``next_batch`` until EOF; TIMEOUT polls again after a short sleep (§3.4)."""
        self._ensure_state()
        rc = C.c_int32(RC_FAILURE)
        handle = self.lib.open(self.state, (params or "").encode(), C.byref(rc))
        if rc.value != RC_SUCCESS:
            error = _text(self.lib.get_last_error(self.state))
            self.lib.close(self.state, handle)  # libscap closes even a failed open
            raise PluginError(f"open failed: {error or rc.value}", self.name)
        return self._events(handle)

    def _events(self, handle):
        count, batch = C.c_uint32(0), C.POINTER(LegacyEvent)()
        try:
            while True:
                with self.lock:
                    rc = self.lib.next_batch(self.state, handle, C.byref(count), C.byref(batch))
                    items = [(batch[i].ts, C.string_at(batch[i].data, batch[i].datalen))
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
                    error = _text(self.lib.get_last_error(self.state))
                    raise PluginError(f"next_batch failed: {error or rc}", self.name)
        finally:
            self.lib.close(self.state, handle)


__all__ = ["load_native_plugin", "LegacySourcePlugin", "LegacyExtractorPlugin"]
