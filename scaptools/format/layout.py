"""The fixed byte layouts of a capture: every struct, offset, size and type id that
code outside ``scaptools.format`` needs (docs/format.md §2, §3, §9, §10.3).

Each fixed header is one table of ``(field name, struct code)`` in file order.
``schema.py`` builds its construct definitions of these headers from the same
tables, and everything else (the reader's fast path, the writer, the state
tracker, replay, the recorder, plugins) uses the ``struct.Struct`` objects and
offsets derived here, so each header is written down once. Event type ids come
from the event table (``scaptools.events.table``). Nothing here imports
construct: recording stays free of it.
"""
from __future__ import annotations

import struct

from ..events.table import EVENTS, LARGE_PAYLOAD

# -- the tables (little-endian codes; a big-endian section swaps the order, §1.2) ----

BLOCK_HEADER_FIELDS = (("block_type", "I"), ("total_length", "I"))  # §2
BLOCK_TRAILER_FIELDS = (("trailer", "I"),)  # §2: the total length again
SHB_HEAD_FIELDS = (("magic", "I"), ("major", "H"), ("minor", "H"),
                   ("section_length", "q"))  # §3, before the options
EVENT_PREFIX_FIELDS = (("cpu", "H"),)  # §9.1: in front of the event in every event block
EVENT_FLAGS_FIELDS = (("flags", "I"),)  # §9.1: after the cpuid in flags-word blocks
EVENT_HEADER_V1_FIELDS = (("ts", "Q"), ("tid", "Q"), ("len", "I"), ("type", "H"))  # §9.2
EVENT_HEADER_FIELDS = EVENT_HEADER_V1_FIELDS + (("nparams", "I"),)  # §9.2, v2
# a plugin event's parameters (§10.3): two u32 lengths (a large-payload type, §9.3),
# then the plugin id (the first parameter); the payload follows
PLUGIN_PARAMS_FIELDS = (("id_length", "I"), ("payload_length", "I"), ("plugin_id", "I"))
LENGTH_CODE, LARGE_LENGTH_CODE = "H", "I"  # a parameter length: u16, or u32 (§9.3)


def codes(*tables) -> str:
    """The ``struct`` codes of the tables, in order, without a byte-order character."""
    return "".join(code for table in tables for _, code in table)


def layout_struct(*tables, order: str = "<") -> struct.Struct:
    """One ``struct.Struct`` reading the tables one after the other."""
    return struct.Struct(order + codes(*tables))


def offset_of(name: str, *tables) -> int:
    """The byte offset of field ``name`` from the start of the first table."""
    pos = 0
    for table in tables:
        for field, code in table:
            if field == name:
                return pos
            pos += struct.calcsize("<" + code)
    raise KeyError(name)


# -- blocks (§2, §3) -----------------------------------------------------------------
BLOCK_HEADER = layout_struct(BLOCK_HEADER_FIELDS)  # block type, total length
BLOCK_TRAILER = layout_struct(BLOCK_TRAILER_FIELDS)
BLOCK_HEADER_SIZE = BLOCK_HEADER.size
BLOCK_TRAILER_SIZE = BLOCK_TRAILER.size
BLOCK_FRAME_SIZE = BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE  # the smallest block
BLOCK_LENGTH_AT = offset_of("total_length", BLOCK_HEADER_FIELDS)
SHB_HEAD = layout_struct(SHB_HEAD_FIELDS)
SHB_MAGIC_AT = BLOCK_HEADER_SIZE  # the byte-order magic starts the section header body
SHB_MIN_SIZE = BLOCK_FRAME_SIZE + SHB_HEAD.size

# -- events (§9) ----------------------------------------------------------------------
EVENT_HEADER = layout_struct(EVENT_HEADER_FIELDS)  # ts, tid, len, type, nparams
EVENT_HEADER_SIZE = EVENT_HEADER.size
EVENT_HEADER_V1 = layout_struct(EVENT_HEADER_V1_FIELDS)
EVENT_HEADER_V1_SIZE = EVENT_HEADER_V1.size
EVENT_LEN_AT = offset_of("len", EVENT_HEADER_FIELDS)
EVENT_TYPE_AT = offset_of("type", EVENT_HEADER_FIELDS)
NPARAMS_AT = offset_of("nparams", EVENT_HEADER_FIELDS)
PARAM_LENGTHS_AT = EVENT_HEADER_SIZE  # the length array follows the v2 header (§9.3)
LENGTH_SIZE = struct.calcsize("<" + LENGTH_CODE)
LARGE_LENGTH_SIZE = struct.calcsize("<" + LARGE_LENGTH_CODE)
MAX_LENGTHS = 64  # SHORT_LENGTHS covers events with up to this many parameters
SHORT_LENGTHS = tuple(struct.Struct(f"<{n}{LENGTH_CODE}") for n in range(MAX_LENGTHS + 1))

# an event block: block header and cpuid, the event, padding, trailer (§9.1)
EVENT_BLOCK_HEAD = layout_struct(BLOCK_HEADER_FIELDS, EVENT_PREFIX_FIELDS)
EVENT_AT = EVENT_BLOCK_HEAD.size  # the event's offset inside a block without flags
EVENT_BLOCK_OVERHEAD = EVENT_AT + BLOCK_TRAILER_SIZE  # block bytes besides event and padding
# block header, cpuid and v2 event header: the reader's fast path in one unpack
EVENT_BLOCK_AND_HEADER = layout_struct(BLOCK_HEADER_FIELDS, EVENT_PREFIX_FIELDS,
                                       EVENT_HEADER_FIELDS)
V1_LENGTHS_AT = EVENT_AT + EVENT_HEADER_V1_SIZE  # a v1 event's length array inside its block

# -- event type ids, from the event table (§10) ----------------------------------------


def event_id(enum: str) -> int:
    """The id of an event type by its ``PPME_*`` name in the event table."""
    return next(info["id"] for info in EVENTS if info["enum"] == enum)


PLUGINEVENT = event_id("PPME_PLUGINEVENT_E")
ASYNCEVENT = event_id("PPME_ASYNCEVENT_E")
LARGE_PAYLOAD_TYPES = LARGE_PAYLOAD  # u32 parameter lengths, 0x221 blocks (§9.3)

# -- plugin events (§10.3) --------------------------------------------------------------
PLUGIN_LENGTHS = layout_struct(PLUGIN_PARAMS_FIELDS[:2])  # id and payload lengths
PLUGIN_ID_AT = PARAM_LENGTHS_AT + offset_of("plugin_id", PLUGIN_PARAMS_FIELDS)
PLUGIN_HEAD_LEN = PARAM_LENGTHS_AT + layout_struct(PLUGIN_PARAMS_FIELDS).size  # before the payload
PLUGIN_NPARAMS = 2
# a whole plugin event block up to its payload: what the writer packs per event
PLUGIN_BLOCK_HEAD_FIELDS = (BLOCK_HEADER_FIELDS + EVENT_PREFIX_FIELDS + EVENT_HEADER_FIELDS
                            + PLUGIN_PARAMS_FIELDS)
PLUGIN_BLOCK_HEAD = layout_struct(PLUGIN_BLOCK_HEAD_FIELDS)


def plugin_block_size(payload_len: int) -> int:
    """The bytes of a plugin event's ``0x221`` block: head, payload, padding, trailer."""
    return PLUGIN_BLOCK_HEAD.size + payload_len + (-payload_len & 3) + BLOCK_TRAILER_SIZE


def param_data_at(nparams: int, large: bool = False) -> int:
    """Where a v2 event's parameter data starts: after the header and the lengths (§9.3)."""
    return PARAM_LENGTHS_AT + (LARGE_LENGTH_SIZE if large else LENGTH_SIZE) * nparams


def lengths_struct(nparams: int, large: bool = False) -> struct.Struct:
    """The ``struct`` of a v2 event's parameter length array (§9.3)."""
    if not large and nparams <= MAX_LENGTHS:
        return SHORT_LENGTHS[nparams]
    return struct.Struct(f"<{nparams}{LARGE_LENGTH_CODE if large else LENGTH_CODE}")
