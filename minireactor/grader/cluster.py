"""Grade a class on a dask.distributed cluster: `minireactor grade --class DIR --scheduler ADDR`.

The same `Task`s that `batch.run_locally` hands to local worker processes go
to the cluster's workers instead, through `Client.submit`; each worker runs
`batch.grade_unit`, the same sandbox as on one machine, and the results come
back to this process, which alone writes the gradebook. Each exercise's
bundle is scattered to the workers once rather than sent with every task.

Workers need minireactor installed (the same version) and nothing else: the
tests travel in the bundle and the student's file in the task. Start them
with one thread each (`dask worker tcp://HOST:8786 --nthreads 1 --nworkers N`):
a worker process grades one submission at a time anyway.

Read next: `batch.py`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .units import Bundle, Graded, Sink, Task, grade_unit


class ClusterError(Exception):
    """dask.distributed is missing or the scheduler cannot be reached."""


def run_on_cluster(address: str, tasks: list[Task], sink: Sink, timeout: float = 10.0) -> None:
    """Grade `tasks` on the dask cluster at `address`, passing each result to `sink`.

    Raises:
        ClusterError: dask.distributed is not installed, or no scheduler answers.
        KeyboardInterrupt: after cancelling what had not finished.
    """
    try:
        distributed: Any = importlib.import_module("distributed")  # untyped: used as Any
    except ImportError as exc:
        raise ClusterError("--scheduler needs dask.distributed: pip install "
                           "'minireactor[dask]' (on this machine and on every worker)") from exc
    try:
        client = distributed.Client(address, timeout=timeout)
    except OSError as exc:
        raise ClusterError(f"no dask scheduler answers at {address}: {exc}") from exc
    with client:
        bundles: dict[str, Any] = {}
        for _, bundle, _, _ in tasks:
            if bundle.slug not in bundles:
                bundles[bundle.slug] = client.scatter(bundle, broadcast=True)
        futures = {}
        for unit, bundle, hidden, wall in tasks:
            future = client.submit(grade_unit, unit, bundles[bundle.slug], hidden, wall,
                                   pure=False, key=f"grade-{unit.student}-{unit.exercise}-"
                                                   f"{unit.digest[:12]}")
            futures[future] = unit
        try:
            for future in distributed.as_completed(futures):
                sink(_result(future, futures[future]))
        except KeyboardInterrupt:
            client.cancel([f for f in futures if not f.done()])
            raise


def _result(future: Any, unit: Any) -> Graded:
    try:
        graded: Graded = future.result()
    except Exception as exc:  # a worker died or was lost: retried next run
        return Graded(unit.student, unit.exercise, unit.digest,
                      error=f"cluster task failed: {type(exc).__name__}: {exc}")
    return graded


__all__ = ["Bundle", "ClusterError", "run_on_cluster"]
