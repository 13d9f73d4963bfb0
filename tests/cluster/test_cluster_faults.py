"""Faults during a cluster replay: a worker SIGKILLed while it runs a unit (its units run
again elsewhere, nothing lost or written twice), and Ctrl-C (the tasks are cancelled,
no half-written line)."""
from __future__ import annotations

import os
import re
import signal
import sys
import time

import pytest

pytest.importorskip("distributed", reason="Dask is not installed (pip install 'scaptools[dask]')")
from distributed.diagnostics.plugin import WorkerPlugin  # noqa: E402


class KillOnce(WorkerPlugin):
    """SIGKILLs the first worker that starts a replay unit, once (a marker file records
    the process killed, so the worker started again in its place is spared)."""

    def __init__(self, marker: str):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing" or not str(key).startswith("scap-unit-"):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def kill_once(client, tmp_path):
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    marker = tmp_path / "killed"
    client.register_plugin(KillOnce(str(marker)), name="kill-once")
    yield marker
    client.unregister_worker_plugin("kill-once")
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    client.wait_for_workers(2, timeout=600)  # the nanny has started a new worker


EVERY = ("- rule: every event\n  desc: d\n  condition: evt.num > 0\n"
         "  output: n=%evt.num rel=%evt.reltime name=%ct.name user=%ct.user\n"
         "  priority: INFO\n  source: aws_cloudtrail\n")


@pytest.fixture(scope="module")
def alerting(tmp_path_factory, make_capture, scap):
    """Three captures of 8,000 events, a rule alerting on each event (about 600 KB of
    alerts per capture), and the output of one process."""
    folder = tmp_path_factory.mktemp("alerting")
    paths = [make_capture(folder / f"c{k}.scap", 8000, seed=k) for k in range(3)]
    rules = folder / "every.yaml"
    rules.write_text(EVERY)
    one = scap("replay", *paths, "-r", rules)
    assert one.returncode == 0 and one.stdout.count("\n") == 24_000
    return paths, rules, one.stdout


def test_a_worker_killed_while_replaying(scap, cluster, kill_once, alerting):
    paths, rules, want = alerting
    many = scap("replay", *paths, "-r", rules, "--stats", "--scheduler",
                cluster.scheduler_address)
    assert kill_once.exists()  # a worker died by SIGKILL while it ran a unit
    pid = int(kill_once.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert many.returncode == 0, many.stderr
    assert many.stdout == want  # nothing lost, nothing written twice
    assert "Events read: 24000" in many.stderr


def test_a_unit_whose_worker_dies_too_often(scap, one_process, cluster, client, kill_once,
                                            alerting):
    """With no failure allowed, the units lost with their worker fail: an error line
    naming the capture of each, the alerts of the other captures, exit code 1."""
    paths, rules, _ = alerting
    allowed = client.run_on_scheduler(_allow_failures, 0)
    try:
        many = scap("replay", *paths, "-r", rules, "--scheduler", cluster.scheduler_address)
    finally:
        client.run_on_scheduler(_allow_failures, allowed)
    assert kill_once.exists() and many.returncode == 1
    failed = re.findall(r"^Error: (\S+): the cluster could not replay it: KilledWorker: .*$",
                        many.stderr, re.MULTILINE)  # the unit it ran, and those queued on it
    assert failed and set(failed) <= set(map(str, paths)), many.stderr
    assert len(failed) == many.stderr.count("\n")
    others = [path for path in paths if str(path) not in failed]
    assert many.stdout == "".join(one_process("replay", path, "-r", rules).stdout
                                  for path in others)


def _allow_failures(count, dask_scheduler=None):
    """Set the scheduler's count of worker deaths a task may see; returns the old one."""
    old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, count
    return old


def test_ctrl_c_cancels_the_run_and_leaves_whole_lines(scap_popen, cluster, client, alerting):
    """The first unit's alerts fill the pipe, so the run is still writing them when
    Ctrl-C comes: it stops after that unit's last line."""
    paths, rules, want = alerting
    proc = scap_popen("replay", *paths, "-r", rules, "--scheduler", cluster.scheduler_address)
    first = os.read(proc.stdout.fileno(), 1 << 16)  # the run has begun writing alerts
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=240)
    out = (first + rest).decode()
    assert proc.returncode == 1 and err.decode().strip() == "Aborted!"
    assert out.count("\n") == 8000 and want.startswith(out)  # the first capture, whole
    deadline = time.monotonic() + 60
    while run_tasks(client):  # the scheduler forgets the run's tasks
        assert time.monotonic() < deadline, run_tasks(client)
        time.sleep(0.05)


def run_tasks(client) -> list[str]:
    """The keys of replay tasks the scheduler still holds."""
    return client.run_on_scheduler(
        lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks
                                if str(k).startswith(("scap-unit-", "scap-plan-"))])
