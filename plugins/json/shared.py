"""What other plugins may use of the json plugin: the payload parsed once, raw JSON walking.

The cloudtrail plugin reads the same JSON payloads: it shares the one parse of
each event's payload (``parsed``) and renders values from the original bytes
(``resolve``, ``compact``) exactly as ``json.value`` does. Only these names are
promised; ``fast`` and ``rawjson`` are the json plugin's own.

* ``parsed(event)``: the payload parsed once per event (``None`` if not JSON);
* ``UNSET``: what ``getattr(event, "_json", UNSET)`` gives before the first parse;
* ``resolve(doc, tokens)``: the byte span of the value a JSON pointer's tokens lead to;
* ``compact(text)``: JSON text without whitespace outside strings.
"""
from __future__ import annotations

from scaptools_plugins.json.fast import UNSET, parsed
from scaptools_plugins.json.rawjson import compact, resolve

__all__ = ["UNSET", "compact", "parsed", "resolve"]
