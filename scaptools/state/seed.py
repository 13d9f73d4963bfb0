"""Seed the state from the reader's metadata blocks (docs/format.md §5, §6, §8).

Works on ``scaptools.format.blocks.Block`` objects (their ``parsed`` schema
containers); length-prefixed (v2/V9) entries are unwrapped from ``entry``.
"""
from __future__ import annotations

from ..format import constants


def _unwrap(entry):
    inner = getattr(entry, "entry", None) if not isinstance(entry, dict) else entry.get("entry")
    return inner if inner is not None else entry


def _proc_entry(raw, order: str) -> dict:
    entry = _unwrap(raw)
    values = {k: v for k, v in dict(entry).items() if not k.startswith("_")}
    extra = values.pop("extra", b"") or b""
    if extra:
        from ..format.schema import pl_tail
        values.update(pl_tail(bytes(extra), order))
    return values


def _fd_entry(raw) -> dict:
    entry = _unwrap(raw)
    values = {"fd": entry.fd, "ino": entry.ino, "type": entry.type}
    info = getattr(entry, "info", None)
    if info is not None and not isinstance(info, (bytes, bytearray)):
        values.update({k: v for k, v in dict(info).items() if not k.startswith("_")})
    return values


def seed_block(state, block) -> None:
    """Apply one process/fd/user/interface list block to ``state``; other blocks are ignored."""
    btype = block.type
    if btype in constants.PL_VERSIONS:
        for raw in block.parsed.entries:
            state.add_thread(_proc_entry(raw, block.order))
    elif btype in constants.FDL_BLOCKS:
        parsed = block.parsed
        state.add_fds(parsed.tid, [_fd_entry(e) for e in parsed.list.entries])
    elif btype in constants.UL_BLOCKS:
        for raw in block.parsed.entries:
            _user_entry(state, _unwrap(raw))
    elif btype in constants.IL_BLOCKS:
        for raw in block.parsed.entries:
            entry = _unwrap(raw)
            state.add_interface(bytes(entry.addrs.addr))


def _user_entry(state, entry) -> None:
    data = getattr(entry, "data", entry)
    text = lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else (v or "")
    if entry.kind == 0:
        state.add_user(data.uid, data.gid, text(data.name), text(getattr(data, "homedir", "")),
                       text(getattr(data, "shell", "")))
    else:
        state.add_group(data.gid, text(data.name))
