"""The C structs, symbol signatures and host callbacks of the Falco plugin API 3.12 (ctypes).

Layouts are those of docs/plugin-api.md §2.4 (sizes checked against Appendix A by the
tests). The host callbacks (owner last error, logging, the table stubs of §2.10)
are created once per process and never released: plugins may keep them (§4.7).
"""
from __future__ import annotations

import logging
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, addressof, c_char_p, c_int, c_int32,
                    c_uint16, c_uint32, c_uint64, c_void_p, cast, create_string_buffer)

from scaptools.format.layout import EVENT_HEADER_FIELDS
from scaptools.plugin.native.library import RC_FAILURE

FRAMEWORK_API = (3, 12, 0)
FTYPES = {"string": 9, "uint64": 8, "reltime": 20, "abstime": 21, "bool": 25, "ipaddr": 40,
          "ipnet": 41}
U64_MAX = 0xFFFFFFFFFFFFFFFF
_LOG = logging.getLogger("scaptools.plugin.native")
_SEVERITY = {1: logging.CRITICAL, 2: logging.CRITICAL, 3: logging.ERROR, 4: logging.WARNING,
             5: logging.INFO, 6: logging.INFO, 7: logging.DEBUG, 8: logging.DEBUG}


_CTYPES = {"Q": c_uint64, "I": c_uint32, "H": c_uint16}


class EventHeader(Structure):
    """``ss_plugin_event``: the packed scap event header (§2.4.1), in host byte order,
    built from the one header table of ``format/layout.py``."""
    _pack_ = 1
    _fields_ = [(name, _CTYPES[code]) for name, code in EVENT_HEADER_FIELDS]


class EventInput(Structure):
    """``ss_plugin_event_input`` (§2.4.2)."""
    _fields_ = [("evt", c_void_p), ("evtnum", c_uint64), ("evtsrc", c_char_p)]


class ByteBuffer(Structure):
    _fields_ = [("len", c_uint32), ("ptr", c_void_p)]


class ValueOffsets(Structure):
    _fields_ = [("start", POINTER(c_uint32)), ("length", POINTER(c_uint32))]


class ResultUnion(Union):
    _fields_ = [("str", POINTER(c_char_p)), ("u64", POINTER(c_uint64)),
                ("u32", POINTER(c_uint32)), ("boolean", POINTER(c_uint32)),
                ("buf", POINTER(ByteBuffer))]


class ExtractField(Structure):
    """``ss_plugin_extract_field``: one request and its results (§2.4.3, 64 bytes)."""
    _fields_ = [("res", ResultUnion), ("res_len", c_uint64), ("field_id", c_uint32),
                ("field", c_char_p), ("arg_key", c_char_p), ("arg_index", c_uint64),
                ("arg_present", c_uint32), ("ftype", c_uint32), ("flist", c_uint32)]


def _vtable(name: str, size: int):
    return type(name, (Structure,), {"_fields_": [(f"f{i}", c_void_p) for i in range(size)]})


FieldsVtable = _vtable("FieldsVtable", 3)
ReaderVtable = _vtable("ReaderVtable", 4)
ReaderVtableExt = _vtable("ReaderVtableExt", 6)
WriterVtable = _vtable("WriterVtable", 6)


class FieldExtractInput(Structure):
    """``ss_plugin_field_extract_input`` (§2.4.3, 80 bytes)."""
    _fields_ = [("owner", c_void_p), ("get_owner_last_error", c_void_p),
                ("num_fields", c_uint32), ("fields", POINTER(ExtractField)),
                ("table_reader", ReaderVtable), ("table_reader_ext", c_void_p),
                ("value_offsets", c_void_p)]


class InitTablesInput(Structure):
    """``ss_plugin_init_tables_input`` (§2.4.5, 72 bytes)."""
    _fields_ = [("list_tables", c_void_p), ("get_table", c_void_p), ("add_table", c_void_p),
                ("fields", FieldsVtable), ("fields_ext", c_void_p), ("reader_ext", c_void_p),
                ("writer_ext", c_void_p)]


class InitInput(Structure):
    """``ss_plugin_init_input`` (§2.4.4, 40 bytes)."""
    _fields_ = [("config", c_char_p), ("owner", c_void_p),
                ("get_owner_last_error", c_void_p), ("tables", POINTER(InitTablesInput)),
                ("log_fn", c_void_p)]


_P, _S, _U32, _I32 = c_void_p, c_char_p, c_uint32, c_int32
SIGNATURES = {  # symbol -> (restype, argtypes) (§2.2); all declared before any call (§4.2)
    "plugin_get_required_api_version": (_S, []),
    "plugin_get_version": (_S, []), "plugin_get_name": (_S, []),
    "plugin_get_description": (_S, []), "plugin_get_contact": (_S, []),
    "plugin_get_init_schema": (_S, [POINTER(_I32)]),
    "plugin_init": (_P, [POINTER(InitInput), POINTER(_I32)]),
    "plugin_destroy": (None, [_P]),
    "plugin_get_last_error": (_S, [_P]),
    "plugin_get_id": (_U32, []), "plugin_get_event_source": (_S, []),
    "plugin_open": (_P, [_P, _S, POINTER(_I32)]),
    "plugin_close": (None, [_P, _P]),
    "plugin_next_batch": (_I32, [_P, _P, POINTER(_U32), POINTER(POINTER(_P))]),
    "plugin_event_to_string": (_S, [_P, POINTER(EventInput)]),
    "plugin_get_fields": (_S, []),
    "plugin_extract_fields": (_I32, [_P, POINTER(EventInput), POINTER(FieldExtractInput)]),
    "plugin_get_extract_event_sources": (_S, []),
    "plugin_get_extract_event_types": (POINTER(c_uint16), [POINTER(_U32), _P]),
    "plugin_parse_event": (_I32, [_P, _P, _P]),
    "plugin_get_async_events": (_S, []),
    "plugin_set_async_event_handler": (_I32, [_P, _P, _P]),
    "plugin_capture_open": (_I32, [_P, _P]), "plugin_capture_close": (_I32, [_P, _P]),
}
REQUIRED = ["plugin_get_required_api_version", "plugin_get_version", "plugin_get_name",
            "plugin_get_description", "plugin_get_contact", "plugin_init", "plugin_destroy",
            "plugin_get_last_error"]


# -- host callbacks ----------------------------------------------------------------------
class Owners:
    """Owner tokens (small integers, never NULL) -> plugin name, for logging (§2.10)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.names: dict[int, str] = {}
        self.next = 1

    def new(self, name: str) -> int:
        with self.lock:
            token, self.next = self.next, self.next + 1
            self.names[token] = name
            return token


OWNERS = Owners()
# The only host errors are the refusals of the table stubs: one constant message.
NO_TABLES = create_string_buffer(b"this framework provides no state tables to plugins")


def _guarded(proto, failure):
    """A ctypes callback that never lets an exception reach C (§4.9)."""
    def wrap(fn):
        def body(*args):
            try:
                return fn(*args)
            except BaseException:  # noqa: BLE001 - C gets an explicit failure value instead
                return failure
        return proto(body)
    return wrap


@_guarded(CFUNCTYPE(c_void_p, c_void_p), None)
def _owner_last_error(owner):
    return addressof(NO_TABLES)


@_guarded(CFUNCTYPE(None, c_void_p, c_char_p, c_char_p, c_int), None)
def _log(owner, component, msg, severity):
    name = component.decode("utf-8", "replace") if component else OWNERS.names.get(owner, "")
    _LOG.log(_SEVERITY.get(severity, logging.INFO), "[%s] %s", name,
             (msg or b"").decode("utf-8", "replace"))


def _count_zero(n_out) -> None:
    if n_out:
        n_out[0] = 0


_VP, _CI, _U64 = c_void_p, c_int, c_uint64
_STUBS = [  # (name, restype, argtypes, body) of every table callback: all refuse (§2.10)
    ("list_tables", _VP, [_VP, POINTER(_U32)], lambda o, n: _count_zero(n)),
    ("get_table", _VP, [_VP, c_char_p, _CI], lambda *a: None),
    ("add_table", _CI, [_VP, _VP], lambda *a: RC_FAILURE),
    ("list_table_fields", _VP, [_VP, POINTER(_U32)], lambda t, n: _count_zero(n)),
    ("get_table_field", _VP, [_VP, c_char_p, _CI], lambda *a: None),
    ("add_table_field", _VP, [_VP, c_char_p, _CI], lambda *a: None),
    ("get_table_name", _VP, [_VP], lambda *a: None),
    ("get_table_size", _U64, [_VP], lambda *a: U64_MAX),
    ("get_table_entry", _VP, [_VP, _VP], lambda *a: None),
    ("read_entry_field", _CI, [_VP, _VP, _VP, _VP], lambda *a: RC_FAILURE),
    ("release_table_entry", None, [_VP, _VP], lambda *a: None),
    ("iterate_entries", _U32, [_VP, _VP, _VP], lambda *a: 0),
    ("clear_table", _CI, [_VP], lambda *a: RC_FAILURE),
    ("erase_table_entry", _CI, [_VP, _VP], lambda *a: RC_FAILURE),
    ("create_table_entry", _VP, [_VP], lambda *a: None),
    ("destroy_table_entry", None, [_VP, _VP], lambda *a: None),
    ("add_table_entry", _VP, [_VP, _VP, _VP], lambda *a: None),
    ("write_entry_field", _CI, [_VP, _VP, _VP, _VP], lambda *a: RC_FAILURE),
]
_FAILURE_OF = {_VP: None, _CI: RC_FAILURE, _U64: U64_MAX, _U32: 0, None: None}
CALLBACKS = {name: _guarded(CFUNCTYPE(res, *args), _FAILURE_OF[res])(body)
             for name, res, args, body in _STUBS}
CALLBACKS["get_owner_last_error"] = _owner_last_error
CALLBACKS["log_fn"] = _log


def callback_address(name: str) -> int:
    """The C address of one host callback (they live as long as the process)."""
    return cast(CALLBACKS[name], c_void_p).value


def _fill(struct, names):
    return struct(*(callback_address(n) for n in names))


_FIELDS = ["list_table_fields", "get_table_field", "add_table_field"]
_READER = ["get_table_name", "get_table_size", "get_table_entry", "read_entry_field",
           "release_table_entry", "iterate_entries"]
_WRITER = ["clear_table", "erase_table_entry", "create_table_entry", "destroy_table_entry",
           "add_table_entry", "write_entry_field"]
FIELDS_EXT = _fill(FieldsVtable, _FIELDS)
READER_EXT = _fill(ReaderVtableExt, _READER)
WRITER_EXT = _fill(WriterVtable, _WRITER)
READER = _fill(ReaderVtable, _READER[:4])
TABLES = InitTablesInput(*(callback_address(n) for n in ("list_tables", "get_table", "add_table")),
                         _fill(FieldsVtable, _FIELDS), addressof(FIELDS_EXT),
                         addressof(READER_EXT), addressof(WRITER_EXT))
