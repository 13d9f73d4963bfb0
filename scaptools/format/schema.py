"""construct definitions of every .scap block: the single source of truth.

Every definition comes from a factory that takes the section's byte order
(``"<"`` or ``">"``, docs/format.md §1.2), so one text serves both orders.
Only ``this`` expressions are used, so every block parser can be compiled.
The reader's fast path builds its ``struct`` formats from these definitions
with :func:`struct_format` instead of keeping a second copy of the layout.
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

from construct import (
    Array, Bytes, Check, Const, Error, FixedSized, GreedyBytes, GreedyRange, IfThenElse,
    Int8ub, Int16sb, Int16sl, Int16ub, Int16ul, Int32sb, Int32sl, Int32ub, Int32ul, Int64sb,
    Int64sl, Int64ub, Int64ul, Padding, Pass, Prefixed, Struct, Switch, len_, this,
)

from . import constants
from . import layout

_CODES = {"B": "u8", "H": "u16", "h": "i16", "I": "u32", "i": "i32", "Q": "u64", "q": "i64"}


@lru_cache(maxsize=None)
def ints(order: str) -> SimpleNamespace:
    """Integer constructs of one byte order (§1.2)."""
    little = order == "<"
    return SimpleNamespace(
        u8=Int8ub,
        u16=Int16ul if little else Int16ub, i16=Int16sl if little else Int16sb,
        u32=Int32ul if little else Int32ub, i32=Int32sl if little else Int32sb,
        u64=Int64ul if little else Int64ub, i64=Int64sl if little else Int64sb,
    )


def fixed(order: str, table) -> list:
    """The constructs of a fixed header table of :mod:`.layout` (name, struct code)."""
    i = ints(order)
    return [name / getattr(i, _CODES[code]) for name, code in table]


def str16(order: str):
    """``u16 n`` then ``n`` bytes, no NUL (§1.2)."""
    return Prefixed(ints(order).u16, GreedyBytes)


def struct_format(*structs) -> str:
    """The ``struct`` format of fixed-size Structs made only of integer fields.

    The fast path calls this to derive its formats from the schema (docs/design.md §4).
    """
    order, chars = None, []
    for st in structs:
        for sub in st.subcons:
            field = getattr(sub, "subcon", sub)
            order = order or field.fmtstr[0]
            chars.append(field.fmtstr[1:])
    return order + "".join(chars)


# -- block frame (§2) ------------------------------------------------------

@lru_cache(maxsize=None)
def block_header(order: str):
    """The 8 bytes in front of every block."""
    return Struct(*fixed(order, layout.BLOCK_HEADER_FIELDS))


@lru_cache(maxsize=None)
def block_trailer(order: str):
    """The 4 bytes that end every block: the total length again."""
    return Struct(*fixed(order, layout.BLOCK_TRAILER_FIELDS))


@lru_cache(maxsize=None)
def block(order: str, block_type: int):
    """A whole block of the given type: header, body, padding, trailer (§2)."""
    type_field, length_field = fixed(order, layout.BLOCK_HEADER_FIELDS)
    return Struct(
        type_field.name / Const(block_type, type_field.subcon),
        length_field,
        "body" / FixedSized(this.total_length - layout.BLOCK_FRAME_SIZE,
                            block_body(order, block_type)),
        *block_trailer(order).subcons,
        Check(this.trailer == this.total_length),
    )


# -- section header (§3) ---------------------------------------------------

@lru_cache(maxsize=None)
def shb_option(order: str):
    """One pcapng option: code, length, value padded to 4 (§3 Options)."""
    i = ints(order)
    return Struct("code" / i.u16, "length" / i.u16, "value" / Bytes(this.length),
                  Padding((-this.length) % 4))


@lru_cache(maxsize=None)
def section_header(order: str):
    """SHB body: magic, version, section length, options (§3)."""
    magic, *version = fixed(order, layout.SHB_HEAD_FIELDS)
    return Struct(
        magic.name / Const(constants.SHB_MAGIC, magic.subcon),
        *version,
        "options" / GreedyRange(shb_option(order)),
        "rest" / GreedyBytes,
    )


# -- machine info (§4) -----------------------------------------------------

@lru_cache(maxsize=None)
def machine_info(order: str):
    """The 180-byte ``scap_machine_info`` body."""
    i = ints(order)
    return Struct(
        "num_cpus" / i.u32, "memory_size_bytes" / i.u64, "max_pid" / i.u64,
        "hostname" / Bytes(128), "boot_ts_epoch" / i.u64, "flags" / i.u64,
        "reserved3" / i.u64, "reserved4" / i.u64,
        "rest" / GreedyBytes,
    )


# -- lists: shared shape (§5-§8) -------------------------------------------

def entry_list(entry):
    """Entries while at least 4 bytes remain; the rest (< 4 bytes) is padding."""
    return Struct("entries" / GreedyRange(entry), "padding" / GreedyBytes,
                  Check(len_(this.padding) < 4))


def prefixed_entry(order: str, fields, includes_prefix: bool = True):
    """A v2 list entry: ``u32 entry_len`` then the fields, then bytes left for later fields."""
    size = this.entry_len - 4 if includes_prefix else this.entry_len
    return Struct("entry_len" / ints(order).u32,
                  "entry" / FixedSized(size, Struct(*fields, "extra" / GreedyBytes)))


# -- process lists (§5) ----------------------------------------------------

def process_fields(order: str, version: int) -> list:
    """Fields of a process entry of list version 1..9, in file order."""
    i, s = ints(order), str16(order)
    f = ["tid" / i.i64, "pid" / i.i64, "ptid" / i.i64]
    if version >= 6:
        f.append("sid" / i.i64)
    if version >= 8:
        f.append("vpgid" / i.i64)
    f += ["comm" / s, "exe" / s]
    if version >= 7:
        f.append("exepath" / s)
    f += ["args" / s, "cwd" / s, "fdlimit" / i.i64, "flags" / i.u32, "uid" / i.u32,
          "gid" / i.u32]
    if version >= 2:
        f += ["vmsize_kb" / i.u32, "vmrss_kb" / i.u32, "vmswap_kb" / i.u32,
              "pfmajor" / i.u64, "pfminor" / i.u64]
    if version >= 3:
        f.append("env" / s)
    if version >= 4:
        f += ["vtid" / i.i64, "vpid" / i.i64, "cgroups" / s]
    if version >= 5:
        f.append("root" / s)
    return f


@lru_cache(maxsize=None)
def process_list(order: str, version: int):
    """A process list block body of the given version; V9 entries are length-prefixed."""
    fields = process_fields(order, version)
    if version == 9:  # the tail is kept raw in "extra"; see pl_tail()
        return entry_list(prefixed_entry(order, fields))
    return entry_list(Struct(*fields))


@lru_cache(maxsize=None)
def pl_tail_fields(order: str, current: bool) -> list:
    """The optional V9 tail fields, old layout (<= 29 bytes) or current one (§5)."""
    i = ints(order)
    old = [("loginuid", i.u32), ("exe_writable", i.u8), ("cap_inheritable", i.u64),
           ("cap_permitted", i.u64), ("cap_effective", i.u64)]
    if not current:
        return old
    return ([("pidns_init_start_ts", i.u64), ("tty", i.u32)] + old +
            [("exe_upper_layer", i.u8), ("exe_ino", i.u64), ("exe_ino_ctime", i.u64),
             ("exe_ino_mtime", i.u64), ("exe_from_memfd", i.u8), ("exe_lower_layer", i.u8),
             ("pgid", i.i64)])


def pl_tail(extra: bytes, order: str) -> dict:
    """Decode the V9 tail: each field only if it fits; layout by the 29-byte test (§5)."""
    out, pos = {}, 0
    for name, field in pl_tail_fields(order, len(extra) > 29):
        size = field.sizeof()
        if pos + size > len(extra):
            break
        out[name] = field.parse(extra[pos:pos + size])
        pos += size
    return out


# -- fd lists (§6) ---------------------------------------------------------

def fd_payloads(order: str) -> dict:
    """fd type -> payload construct (§6 table)."""
    i, s = ints(order), str16(order)
    named = Struct("name" / s)
    out = {t: named for t in constants.FD_NAMED_TYPES}
    out[constants.FD_IPV4_SOCK] = Struct("sip" / Bytes(4), "dip" / Bytes(4), "sport" / i.u16,
                                 "dport" / i.u16, "l4proto" / i.u8)
    out[constants.FD_IPV6_SOCK] = Struct("sip" / Bytes(16), "dip" / Bytes(16), "sport" / i.u16,
                                 "dport" / i.u16, "l4proto" / i.u8)
    out[constants.FD_IPV4_SERVSOCK] = Struct("ip" / Bytes(4), "port" / i.u16, "l4proto" / i.u8)
    out[constants.FD_IPV6_SERVSOCK] = Struct("ip" / Bytes(16), "port" / i.u16, "l4proto" / i.u8)
    out[constants.FD_UNIX_SOCK] = Struct("source" / i.u64, "destination" / i.u64, "name" / s)
    out[constants.FD_FILE_V2] = Struct("open_flags" / i.u32, "name" / s)  # v2 "dev" stays in extra
    return out


@lru_cache(maxsize=None)
def fd_list(order: str, v2: bool):
    """FD list body: owner tid, then fd entries (§6)."""
    i = ints(order)
    fields = ["fd" / i.i64, "ino" / i.u64, "type" / i.u8,
              # v1: an unknown type has no defined payload, parsing cannot go on
              "info" / Switch(this.type, fd_payloads(order), default=Pass if v2 else Error)]
    entry = prefixed_entry(order, fields) if v2 else Struct(*fields)
    return Struct("tid" / i.u64, "list" / entry_list(entry))


# -- interface lists (§7) --------------------------------------------------

@lru_cache(maxsize=None)
def interface_list(order: str, v2: bool):
    """Interface list body; the v2 ``entry_len`` does not count itself (§7)."""
    i = ints(order)
    v4 = Struct("addr" / Bytes(4), "netmask" / Bytes(4), "bcast" / Bytes(4))
    v6 = Struct("addr" / Bytes(16), "netmask" / Bytes(16), "bcast" / Bytes(16))
    speed = ["linkspeed" / i.u64]
    addrs = {constants.IF_IPV4: Struct(*v4.subcons, *speed),
             constants.IF_IPV6: Struct(*v6.subcons, *speed),
             constants.IF_IPV4_NOLINKSPEED: v4, constants.IF_IPV6_NOLINKSPEED: v6}
    fields = ["type" / i.u16, "ifnamelen" / i.u16,
              "addrs" / Switch(this.type, addrs, default=Error),
              "ifname" / Bytes(this.ifnamelen)]
    entry = prefixed_entry(order, fields, includes_prefix=False) if v2 else Struct(*fields)
    return entry_list(entry)


# -- user lists (§8) -------------------------------------------------------

@lru_cache(maxsize=None)
def user_list(order: str, v2: bool):
    """User/group list body: kind 0 = user, anything else = group (§8)."""
    i, s = ints(order), str16(order)
    user = Struct("uid" / i.u32, "gid" / i.u32, "name" / s, "homedir" / s, "shell" / s)
    group = Struct("gid" / i.u32, "name" / s)
    fields = ["kind" / i.u8, "data" / IfThenElse(this.kind == 0, user, group)]
    entry = prefixed_entry(order, fields) if v2 else Struct(*fields)
    return entry_list(entry)


# -- events (§9) -----------------------------------------------------------

@lru_cache(maxsize=None)
def event_header(order: str, v2: bool = True):
    """The event header: 22 bytes (v1) or 26 bytes with ``nparams`` (v2) (§9.2)."""
    return Struct(*fixed(order, layout.EVENT_HEADER_FIELDS if v2
                         else layout.EVENT_HEADER_V1_FIELDS))


@lru_cache(maxsize=None)
def event_prefix(order: str, flags: bool):
    """What comes before the event in an event block: cpuid and maybe dump flags (§9.1)."""
    table = layout.EVENT_PREFIX_FIELDS + (layout.EVENT_FLAGS_FIELDS if flags else ())
    return Struct(*fixed(order, table))


def is_large(type_expr):
    """True for the large-payload event types (u32 parameter lengths, §9.3)."""
    first, *rest = sorted(layout.LARGE_PAYLOAD_TYPES)
    expr = type_expr == first
    for etype in rest:
        expr = expr | (type_expr == etype)
    return expr


@lru_cache(maxsize=None)
def event_v2(order: str):
    """A v2 event: header, lengths (u32 for large-payload types, else u16), data (§9.3)."""
    i = ints(order)
    large = is_large(this.type)
    short, wide = layout.LENGTH_SIZE, layout.LARGE_LENGTH_SIZE
    length = getattr(i, _CODES[layout.LENGTH_CODE])
    large_length = getattr(i, _CODES[layout.LARGE_LENGTH_CODE])
    return Struct(
        *event_header(order, True).subcons,
        "lengths" / Array(this.nparams, IfThenElse(large, large_length, length)),
        "data" / Bytes(this.len - layout.EVENT_HEADER_SIZE
                       - this.nparams * (short + (wide - short) * large)),
    )


@lru_cache(maxsize=None)
def event_v1(order: str):
    """A v1 event: 22-byte header, then lengths and data with ``nparams`` unknown (§9.4).

    For ``notification``/``infra`` (``V1_LEN_QUIRK``) the stored ``len`` is 3 bytes too large.
    """
    first, *rest = sorted(constants.V1_LEN_QUIRK)
    quirk = this.type == first
    for etype in rest:
        quirk = quirk | (this.type == etype)
    return Struct(*event_header(order, False).subcons,
                  "rest" / Bytes(this.len - layout.EVENT_HEADER_V1_SIZE
                                 - constants.V1_LEN_EXCESS * quirk))


@lru_cache(maxsize=None)
def event_block(order: str, block_type: int):
    """Body of an event block: cpuid, optional flags, the event, then ignored bytes (§9.1)."""
    prefix = event_prefix(order, block_type in constants.FLAGS_BLOCKS)
    event = event_v2(order) if block_type in constants.EVENT_BLOCKS_V2 else event_v1(order)
    return Struct(*prefix.subcons, "event" / event, "extra" / GreedyBytes)


def block_body(order: str, block_type: int):
    """The body construct for a block type; unknown types are kept as raw bytes (§2)."""
    if block_type == constants.BLOCK_SHB:
        return section_header(order)
    if block_type in constants.MI_BLOCKS:
        return machine_info(order)
    if block_type in constants.PL_VERSIONS:
        return process_list(order, constants.PL_VERSIONS[block_type])
    if block_type in constants.FDL_BLOCKS:
        return fd_list(order, block_type == constants.BLOCK_FDL_V2)
    if block_type in constants.IL_BLOCKS:
        return interface_list(order, block_type == constants.BLOCK_IL_V2)
    if block_type in constants.UL_BLOCKS:
        return user_list(order, block_type == constants.BLOCK_UL_V2)
    if block_type in constants.EVENT_BLOCKS:
        return event_block(order, block_type)
    return GreedyBytes


@lru_cache(maxsize=None)
def compiled_body(order: str, block_type: int):
    """The compiled body parser (cached); :func:`block_body` stays the reference."""
    return block_body(order, block_type).compile()
