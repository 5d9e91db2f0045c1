"""Memory per connection: a thread per connection costs more than a loop's transport."""

from __future__ import annotations

import os

import pytest

from minireactor.lab import LabError
from minireactor.lab.memory import memory_per_connection, resident_bytes


def test_resident_bytes_of_this_process() -> None:
    assert resident_bytes(os.getpid()) > 1_000_000  # an interpreter is megabytes


@pytest.mark.timeout(120)
def test_a_thread_per_connection_costs_more_than_a_transport() -> None:
    rows = memory_per_connection(("threads", "minireactor"), counts=(200,))
    by_model = {r["model"]: r for r in rows}
    threads, loop = by_model["threads"], by_model["minireactor"]
    assert threads["rss_bytes"] > threads["baseline_bytes"]
    assert threads["per_connection_bytes"] > loop["per_connection_bytes"]
    if threads["virtual_per_connection_bytes"] is not None:  # Linux: each stack is reserved
        assert threads["virtual_per_connection_bytes"] > 64 * 1024


def test_bad_models_and_impossible_counts_are_explained() -> None:
    with pytest.raises(LabError, match="threads, asyncio, minireactor"):
        memory_per_connection(("iterative",), counts=(10,))
    (row,) = memory_per_connection(("minireactor",), counts=(10**7,))
    assert row["per_connection_bytes"] is None and "descriptor limit" in row["note"]


@pytest.mark.timeout(120)
def test_memory_benchmark_prints_its_table() -> None:
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "benchmarks.memory", "--counts", "20", "--json"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=110, check=True).stdout
    table = json.loads(out)["table"]
    assert [row["model"] for row in table] == ["threads", "asyncio", "minireactor"]
    assert all(row["resident_per_connection"] is not None for row in table)
