"""Version strings ``x.y.z`` and the one compatibility rule every version check uses.

The same rule decides whether a Python plugin's required API is served
(docs/plugin-api.md §2.13), whether a Falco plugin library's required API is
served (§1), and whether a loaded plugin satisfies ``required_plugin_versions``
(docs/rules-language.md §2.2): the same major version, and a minor.patch not
newer than the one provided.
"""
from __future__ import annotations

import re

from scaptools.errors import PluginError

_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_semver(text: str, prefix: bool = False) -> tuple[int, int, int] | None:
    """``"x.y.z"`` -> ``(x, y, z)``; ``None`` when ``text`` is not one.

    ``prefix``: only the start must be ``x.y.z``, trailing text is ignored (the
    ``sscanf("%u.%u.%u")`` reading of C plugin libraries, §1).
    """
    m = _SEMVER.match(text)
    if m is None or not (prefix or m.end() == len(text)):
        return None
    return int(m[1]), int(m[2]), int(m[3])


def compatible(provided: tuple, required: tuple) -> bool:
    """Same major; the required minor.patch not newer than the provided one."""
    return provided[0] == required[0] and required[1:] <= provided[1:]


def version_text(version: tuple) -> str:
    return ".".join(map(str, version))


def parse_version(text: str, plugin: str, what: str = "version") -> tuple[int, int, int]:
    """A Python plugin's ``"x.y.z"`` as a tuple; anything else is a ``PluginError``."""
    version = parse_semver(str(text))
    if version is None:
        raise PluginError(f"invalid {what} '{text}' (expected x.y.z)", plugin)
    return version


def parse_library_version(text: str, plugin: str) -> tuple[int, int, int]:
    """A C plugin library's version (trailing text ignored, §1); else a ``PluginError``."""
    version = parse_semver(text or "", prefix=True)
    if version is None:
        raise PluginError(f"invalid version string '{text}'", plugin)
    return version
