"""Each fact of the capture format is written once: in ``scaptools/format`` (the layout
module and the block ids) or ``scaptools/events`` (the event table).

Every other module of ``scaptools`` and ``plugins`` is read with ``ast``; a constant
it defines (at module level or in a class body) fails the test when

- its value holds a block id, the section magic or a layout event id
  (``pluginevent``, ``asyncevent``, the large-payload types), e.g. ``PLUGINEVENT = 322``;
- its value holds the ``struct`` format of a layout header, e.g. ``"<QQIHI"``;
- its name is a layout name (``PLUGINEVENT``, ``_HEAD_LEN``, ``HEADER``, ``..._AT``,
  ...) and its value is written with numbers instead of imported names.

Such code imports the value from ``scaptools.format.layout`` (or ``constants``).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from scaptools.format import constants, layout

ROOT = Path(__file__).resolve().parent.parent
OWNERS = (ROOT / "scaptools" / "format", ROOT / "scaptools" / "events")
LAYOUT_NAMES = re.compile(r"(^|_)(PLUGINEVENT|ASYNCEVENT|HEAD_LEN|PAYLOAD_OFFSET|HEADER|"
                          r"HEADER_SIZE|HEAD|LENGTHS_AT)$|_AT$")


def known_numbers() -> frozenset:
    blocks = {value for name, value in vars(constants).items()
              if name.startswith("BLOCK_") and isinstance(value, int)}
    return frozenset(blocks | {constants.SHB_MAGIC, layout.PLUGINEVENT, layout.ASYNCEVENT}
                     | set(layout.LARGE_PAYLOAD_TYPES))


def known_formats() -> frozenset:
    structs = (layout.BLOCK_HEADER, layout.SHB_HEAD, layout.EVENT_HEADER,
               layout.EVENT_HEADER_V1, layout.EVENT_BLOCK_HEAD, layout.EVENT_BLOCK_AND_HEADER,
               layout.PLUGIN_LENGTHS, layout.PLUGIN_BLOCK_HEAD)
    formats = {st.format for st in structs}
    return frozenset(formats | {fmt[1:] for fmt in formats} | {fmt.replace("<", "=")
                                                                for fmt in formats})


NUMBERS, FORMATS = known_numbers(), known_formats()


def definitions(tree: ast.Module):
    """``(line, names, value)`` of the constants a module defines: its top-level and
    class-level assignments, also inside ``if``/``try`` blocks."""
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.ClassDef, ast.If, ast.Try, ast.With)):
            todo.extend(node.body)
            todo.extend(getattr(node, "orelse", []))
            todo.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                todo.extend(handler.body)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            yield node.lineno, names, node.value


def faults(source: str) -> list[str]:
    """What in ``source`` restates a layout fact (empty when nothing does)."""
    found = []
    for line, names, value in definitions(ast.parse(source)):
        literals = [n.value for n in ast.walk(value) if isinstance(n, ast.Constant)]
        numbers = [v for v in literals if isinstance(v, int) and not isinstance(v, bool)]
        label = f"line {line}: {', '.join(names)}"
        if any(v in NUMBERS for v in numbers):
            found.append(f"{label} = a block id, magic or layout event id")
        elif any(isinstance(v, str) and v in FORMATS for v in literals):
            found.append(f"{label} = the struct format of a layout header")
        elif numbers and any(LAYOUT_NAMES.search(name) for name in names):
            found.append(f"{label}: a layout name written with numbers")
    return found


def checked_modules() -> list[Path]:
    paths = sorted((ROOT / "scaptools").rglob("*.py")) + sorted((ROOT / "plugins").rglob("*.py"))
    return [p for p in paths if not any(owner in p.parents for owner in OWNERS)]


def test_no_layout_constant_outside_its_owner():
    found = [f"{path.relative_to(ROOT)}: {fault}" for path in checked_modules()
             for fault in faults(path.read_text())]
    assert not found, "import these from scaptools.format.layout:\n" + "\n".join(found)


@pytest.mark.parametrize("source", [
    "PLUGINEVENT = 322",
    "PLUGINEVENT, ASYNCEVENT = 322, 402",
    "_HEAD_LEN = 38  # a pluginevent's bytes before its payload",
    "_PLUGIN_ID_AT = 26 + 2 * 4",
    "HEADER = 26",
    "PAYLOAD_OFFSET = 38",
    "BLOCK_EV_V2 = 0x216",
    "LARGE = frozenset({322, 324, 402})",
    "MAGIC = 0x1A2B3C4D",
    "_BLOCK = struct.Struct('<II')",
    "HEADER = struct.Struct('<QQIHI')",
    "_PLUGIN_HEAD = 'IIHQQIHIIII'",
    "class Event:\n    HEADER_SIZE = 26",
    "try:\n    import x\nexcept ImportError:\n    PLUGINEVENT = 322",
])
def test_the_check_catches_a_restated_layout_fact(source):
    assert faults(source)


@pytest.mark.parametrize("source", [
    "from scaptools.format.layout import PLUGINEVENT",
    "_PLUGIN_ID_AT = PLUGIN_ID_AT",
    "PAYLOAD_OFFSET = PLUGIN_HEAD_LEN",
    "BLOCK_IDB = 0x00000001  # pcapng's own blocks are not the capture format's",
    "LINKTYPE = 252",
    "_U32 = struct.Struct('<I')",
    "def f():\n    PLUGINEVENT = 322",  # not a module-level constant
])
def test_the_check_leaves_other_code_alone(source):
    assert not faults(source)
