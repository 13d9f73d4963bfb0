"""``scap test`` on a cluster: one task per spec, results in the order of the specs.

Each worker replays a spec exactly as ``scap test`` does locally
(``testing.runner.run_spec``), so the results, the printed report and the JUnit
file are the same. Paths in the specs are resolved on the workers against the
client's working folder: the specs, captures and rules must be visible to the
workers at the same paths (one machine, or a shared file system).
"""
from __future__ import annotations

import os
import uuid

from .bundle import scaptools_version
from .worker import SpecsOnWorker, spec_task


def test_on_client(client, specs: list, *, update: bool = False) -> list:
    """The ``SpecResult`` of every spec, run on ``client``'s cluster, in spec order."""
    from scaptools.fields.generic import hostname
    token = uuid.uuid4().hex[:12]
    name = f"scaptools-specs-{token}"
    client.register_plugin(SpecsOnWorker(hostname(), os.environ.get("TZ"),
                                         scaptools_version()), name=name)
    cwd = os.getcwd()
    futures = [client.submit(spec_task, spec, update, cwd, name, priority=-k,
                             key=f"scap-spec-{token}-{k}") for k, spec in enumerate(specs)]
    try:
        return [_result(spec, future) for spec, future in zip(specs, futures)]
    finally:
        client.cancel([f for f in futures if not f.done()])
        try:
            client.unregister_worker_plugin(name)
        except Exception:  # noqa: BLE001 - a worker gone meanwhile: nothing left to free
            pass


def _result(spec, future):
    from scaptools.testing.runner import SpecResult
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: too many workers died
        return SpecResult(spec, "error", [f"  error: the cluster could not run it: "
                                          f"{type(exc).__name__}: {exc}"])
