"""The §3.4 brace scanner of damaged log files: its fast road (whole valid objects read
by the C JSON scanner) keeps exactly the records the token-by-token walk keeps."""
from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools_plugins.cloudtrail.logfile import split_records

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[{}]', re.S)
LOGS = Path(__file__).resolve().parents[2] / "captures" / "logs"


def token_walk(text: bytes) -> list[bytes]:
    """The scanner's definition, one token at a time (strings, then braces)."""
    out, depth, start = [], 0, 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok == b"{":
            depth += 1
            if depth == 2:
                start = m.start()
        elif tok == b"}":
            if depth == 2:
                out.append(text[start:m.end()])
            depth = max(depth - 1, 0)
    return out


def sample() -> bytes:
    files = sorted(LOGS.rglob("*.json"))
    assert files, "the project's sample logs are missing"
    return files[0].read_bytes()


def test_whole_and_truncated_files():
    text = sample()
    for cut in range(0, len(text), max(1, len(text) // 97)):
        assert split_records(text[:cut]) == token_walk(text[:cut])
    assert split_records(text) == token_walk(text) and split_records(text)


def test_awkward_objects():
    cases = [b'{"Records":[{"a":"}{"},{"b":"\\"}"},{"c":{"d":[1,{"e":2}]}}]}',
             b'{"Records":[{"a":tru},{"b":1}]}',  # an invalid object keeps its extent
             b'{"Records":[{"a":"\xc3\xa9\xff"},{"b":"\x01"},{"c":1}',  # bytes json rejects
             b'{"Records":[{"a":NaN},{"b":"x\\', b'}}}{{"x":1}}', b'[{"a":1}]']
    for text in cases:
        assert split_records(text) == token_walk(text), text


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_damage_anywhere(data):
    text = bytearray(sample())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text) - 1))
        text[pos:pos + 1] = data.draw(st.sampled_from([b"", b"{", b"}", b'"', b"\\", b"\x00",
                                                       b"\xff", b":", b","]))
    text = bytes(text[:data.draw(st.integers(0, len(text)))])
    assert split_records(text) == token_walk(text)
