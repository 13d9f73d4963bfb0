"""The units of the local route and the order they are read in (docs/cloudtrail-plugin.md
§3.1): the log files of a path, their versions (for resuming), a first large file whose
decoding starts when the stream opens, and a map that runs ahead in order."""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from scaptools.errors import PluginError

from . import s3 as s3mod
from . import spool

PLUGIN = "cloudtrail"


def _early_start(path: str):
    """(path, spool.Body, heads helper) for a first log file that is decoded piece by
    piece with a helper, else None.

    Started when the stream opens, the helper inflates and decodes while the
    recorder still starts up; the same Body is decoded later (``read``).
    """
    from . import heads
    try:
        body = spool.open_body(path) if os.path.getsize(path) >= heads.HELPER_MIN else None
    except OSError:
        return None  # reported when the file is read in its turn
    helper = heads.start(body) if body is not None else None
    if helper is None:
        spool.close(body)
        return None
    return path, body, helper


def _file_version(path: str) -> str:
    """A local log file's version for resuming: its size ("" when it is gone)."""
    try:
        return str(os.path.getsize(path))
    except OSError:
        return ""


def local_files(path: str) -> list[str]:
    """The log files of a local path, in name order (§3.1); PluginError when there are none."""
    if os.path.isfile(path):
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in files if s3mod.is_log_name(f))
    found.sort(key=lambda p: s3mod.order_key(p.replace(os.sep, "/")))
    if not found:
        raise PluginError(f"cloudtrail plugin error: no json files found in {path}", PLUGIN)
    return found


def ordered_map(fn, items: list, workers: int, stopping):
    """Yield ``(item, fn(item), None)`` or ``(item, None, error)`` in input order.

    At most ``workers + 1`` calls run ahead (results wait in memory); after
    ``stopping()`` turns true no new call starts and the stream ends after the
    result in hand.
    """
    pool = ThreadPoolExecutor(max(1, workers))
    window: deque = deque()
    todo = iter(items)
    try:
        for item in todo:
            window.append((item, pool.submit(fn, item)))
            if len(window) > workers:
                break
        while window:
            item, fut = window.popleft()
            try:
                result, error = fut.result(), None
            except Exception as exc:  # reported by the caller with the unit's name
                result, error = None, exc
            yield item, result, error
            if stopping():
                return
            nxt = next(todo, None)
            if nxt is not None:
                window.append((nxt, pool.submit(fn, nxt)))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
