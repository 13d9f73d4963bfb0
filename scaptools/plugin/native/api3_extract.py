"""Fields and extraction of Falco API 3.x plugins (docs/plugin-api.md §2.7 to §2.9).

``read_fields`` checks the ``get_fields`` JSON; ``Extraction`` is the
``ExtractorPlugin`` side of a loaded library: one prepared request per
(source, field, argument), results copied as soon as the call returns.
"""
from __future__ import annotations

import ipaddress
import json
from ctypes import addressof, byref, c_char_p, c_void_p, cast, pointer, string_at

from scaptools.errors import FieldError, PluginError
from scaptools.events.event import params_fit, raise_damaged
from scaptools.fields.base import ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED, FieldInfo
from scaptools.format.layout import PLUGINEVENT
from scaptools.plugin.api import ExtractorPlugin
from scaptools.plugin.native.api3_abi import (FTYPES, READER, READER_EXT, U64_MAX, EventInput,
                                              ExtractField, FieldExtractInput, callback_address)
from scaptools.plugin.native.library import RC_SUCCESS, c_text


def read_fields(lib, name: str) -> tuple[list[FieldInfo], dict]:
    """The ``get_fields`` JSON: ``FieldInfo``s and, by name, (id, ftype, list, index, key)."""
    try:
        items = json.loads(c_text(lib.get_fields()))
    except ValueError as exc:
        raise PluginError(f"plugin_get_fields: invalid JSON: {exc}", name) from exc
    if not isinstance(items, list) or not items:
        raise PluginError("plugin_get_fields: not a non-empty JSON array", name)
    infos, specs = [], {}
    for i, item in enumerate(items):
        info, spec = _field(item, name)
        infos.append(info)
        specs[info.name] = (i,) + spec
    return infos, specs


def _field(item, plugin: str):
    if not isinstance(item, dict):
        raise PluginError(f"plugin_get_fields: field {item!r} is not an object", plugin)
    fname = item.get("name")
    if not isinstance(fname, str) or not fname:
        raise PluginError(f"plugin_get_fields: field without a name: {item!r}", plugin)
    where = f"plugin_get_fields: field '{fname}'"
    if item.get("type") not in FTYPES:
        raise PluginError(f"{where}: invalid type {item.get('type')!r}", plugin)
    if not isinstance(item.get("desc"), str) or not item["desc"]:
        raise PluginError(f"{where}: missing description", plugin)
    is_list = _flag(item, "isList", where, plugin)
    arg = item.get("arg", {})
    if not isinstance(arg, dict):
        raise PluginError(f"{where}: 'arg' must be an object", plugin)
    required, index, key = (_flag(arg, k, where, plugin)
                            for k in ("isRequired", "isIndex", "isKey"))
    if required and not (index or key):
        raise PluginError(f"{where}: an argument is required but neither index nor key", plugin)
    props = item.get("properties", [])
    tags = tuple(p for p in props if isinstance(p, str)) if isinstance(props, list) else ()
    kind = ARG_REQUIRED if required else ARG_OPTIONAL if index or key else ARG_NONE
    info = FieldInfo(fname, item["type"], is_list=is_list, arg=kind,
                     arg_kind="index" if index and not key else "key", desc=item["desc"],
                     provider=plugin, tags=tags)
    return info, (FTYPES[item["type"]], is_list, index, key)


def _flag(obj: dict, key: str, where: str, plugin: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise PluginError(f"{where}: '{key}' must be a bool", plugin)
    return value


def _ip(res, i):
    buf = res.buf[i]
    if buf.len not in (4, 16) or not buf.ptr:
        return None
    return str(ipaddress.ip_address(string_at(buf.ptr, buf.len)))


_READERS = {9: lambda r, i: c_text(r.str[i]), 8: lambda r, i: int(r.u64[i]),
            20: lambda r, i: int(r.u64[i]), 21: lambda r, i: int(r.u64[i]),
            25: lambda r, i: r.boolean[i] != 0, 40: _ip, 41: _ip}


def _argument(field: str, arg: str | None, index: bool, key: bool):
    """(arg_key, arg_index) as libsinsp sends them (§2.7, §2.8)."""
    if arg is None:
        return None, U64_MAX
    if index and arg.isdigit() and (arg == "0" or arg[0] != "0") and int(arg) <= U64_MAX:
        return (arg.encode() if key else None), int(arg)
    if not key:
        raise FieldError(f"field '{field}' has an invalid index argument: {arg}")
    return arg.encode(), U64_MAX


class Extraction(ExtractorPlugin):
    """The extraction capability, mixed into a loaded library's plugin object."""

    def init_extraction(self) -> None:
        self.fields, self._specs = read_fields(self.lib, self.name)
        sources = []
        if self.lib.get_extract_event_sources is not None:
            text = c_text(self.lib.get_extract_event_sources())
            try:
                sources = json.loads(text) if text else []
            except ValueError as exc:
                raise PluginError(f"plugin_get_extract_event_sources: invalid JSON: {exc}",
                                  self.name) from exc
            if not isinstance(sources, list):
                raise PluginError("plugin_get_extract_event_sources: not a JSON array", self.name)
        self.extract_sources = [s for s in sources if isinstance(s, str) and s]

    def _default_source(self) -> str:
        own = getattr(self, "event_source", "")
        return own or (self.extract_sources[0] if self.extract_sources else "")

    def extractor(self, field: str, arg: str | None):
        return self.extractor_for_source(self._default_source(), field, arg)

    def extractor_for_source(self, source: str, field: str, arg: str | None):
        """``fn(event)`` extracting ``field[arg]`` from events of ``source`` (§2.8)."""
        if field not in self._specs:
            raise FieldError(f"filter_check called with nonexistent field {field}")
        fid, ftype, is_list, index, key = self._specs[field]
        arg_key, arg_index = _argument(field, arg, index, key)
        req = ExtractField(field_id=fid, field=field.encode(), arg_key=arg_key,
                             arg_index=arg_index, arg_present=arg is not None, ftype=ftype,
                             flist=1 if is_list else 0)
        inp = FieldExtractInput(self.owner, callback_address("get_owner_last_error"), 1,
                                  pointer(req), READER, addressof(READER_EXT), None)
        evt_in = EventInput(None, 0, (source or "").encode())
        read, counter = _READERS[ftype], [0]

        def extract(event):
            if event.type != PLUGINEVENT or not self._offers(event.type):
                return None
            if not params_fit(event):  # the plugin would read past the end of the event
                raise_damaged(event)
            self._ensure_state()
            counter[0] += 1
            raw = c_char_p(event.raw)  # points into the bytes; kept alive by this frame
            with self.lock:
                evt_in.evt = cast(raw, c_void_p).value
                evt_in.evtnum = event.num or counter[0]
                req.res_len = 0
                req.res.u64 = None
                rc = self.lib.extract_fields(self.state, byref(evt_in), byref(inp))
                if rc != RC_SUCCESS or not req.res_len:
                    return None
                # results live until the next call on this state: copy them now (§4.5)
                values = [read(req.res, i) for i in range(req.res_len)]
            return values if is_list else values[0]
        return extract

    def _offers(self, evtype: int) -> bool:
        types = self.event_types
        return types is None or evtype in types

    def extract(self, event, field: str, arg: str | None):
        return self.extractor(field, arg)(event)
