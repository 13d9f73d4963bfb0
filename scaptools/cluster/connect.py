"""The Dask scheduler of a run: ``local:N``, an address, or a scheduler file.

``local:N`` starts a scheduler and N worker processes (one thread each) on this
machine, on 127.0.0.1 only (the scheduler's small HTTP server too, on a free port),
without a dashboard and without Dask's sampling profiler
(it costs the replay loop about a tenth of its speed), and stops them at the end.
An address (``tcp://host:8786``) or a scheduler file (``dask scheduler
--scheduler-file F`` writes it) joins a cluster that is already running; the
time allowed to reach it is Dask's ``distributed.comm.timeouts.connect``
(``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=10s``).
"""
from __future__ import annotations

import json
import logging
import re
import signal
import threading
from contextlib import contextmanager

from scaptools.errors import ScapError

EXTRA = "pip install 'scaptools[dask]'"
_LOCAL = re.compile(r"local:(\d+)")


class SchedulerUnreachable(ScapError):
    """The scheduler cannot be reached (or its file read): the CLI exits with code 2."""


def need_dask() -> None:
    """Raise one line naming the extra to install when Dask's scheduler is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ScapError(f"--scheduler needs Dask's distributed scheduler: {EXTRA}") from None


@contextmanager
def connect(address: str | None = None, scheduler_file: str | None = None):
    """A ``distributed.Client`` of the scheduler named (see the module's docstring)."""
    need_dask()
    from distributed import Client
    match = _LOCAL.fullmatch(address or "")
    if match:
        with _local_cluster(int(match.group(1))) as cluster, \
                Client(cluster, set_as_default=False) as client:
            yield client
        return
    if address and address.startswith("local"):
        raise ScapError(f"bad scheduler '{address}': local:N takes a number of workers")
    if scheduler_file:
        address = _address_in(scheduler_file)
    try:
        client = Client(address, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: "
                                   f"{reason}") from None
    with client:
        yield client


@contextmanager
def _local_cluster(workers: int):
    if not 1 <= workers <= 256:
        raise ScapError(f"local:{workers}: the number of workers must be from 1 to 256")
    import dask
    from distributed import LocalCluster
    with dask.config.set({"distributed.worker.profile.enabled": False}), _workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                               silence_logs=logging.ERROR)
    with cluster:
        yield cluster


@contextmanager
def _workers_ignore_ctrl_c():
    """Worker processes started meanwhile ignore SIGINT (an ignored signal stays ignored
    across exec): Ctrl-C on a terminal reaches every process of the group, and the
    client, not the workers, ends the run and then stops them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _address_in(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return str(json.load(fh)["address"])
    except OSError as exc:
        raise SchedulerUnreachable(f"{path}: cannot read the scheduler file: "
                                   f"{exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise SchedulerUnreachable(f"{path}: not a Dask scheduler file (no address)") from None


@contextmanager
def quiet_dask():
    """Dask's own log lines off for a command's run (its errors reach the user as
    one line each through the command)."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
