"""``join_paths`` and ``sanitize``: their shortcuts equal the long way."""
from __future__ import annotations

import posixpath

from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.events.render import join_paths

PARTS = st.sampled_from(["a", "/", ".", "..", "b.c", "/.", "x", " ", "é"])


def normalised(base: str, path: str) -> str:
    """sysdig's path join done the long way: join, then posixpath.normpath."""
    if not path.startswith("/"):
        if not base:
            return ""
        path = base.rstrip("/") + "/" + path
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm != "/" else "/"


@settings(max_examples=2000, deadline=None)
@given(st.lists(PARTS, max_size=5).map("".join),
       st.lists(PARTS, min_size=1, max_size=7).map("".join))
def test_join_paths_equals_normpath(base, path):
    assert join_paths(base, path) == normalised(base, path)


def test_join_paths_examples():
    assert join_paths("/root/", "f.txt") == "/root/f.txt"
    assert join_paths("/root/", "../etc/./passwd") == "/etc/passwd"
    assert join_paths("/", "/etc//hosts/") == "/etc/hosts"
    assert join_paths("", "rel") == ""


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_sanitize_keeps_printable_ascii_only(text):
    from scaptools.events.render import sanitize
    assert sanitize(text) == "".join(c for c in text if " " <= c <= "~")
