"""compare_servers runs the HTTP model on every backend; compare_keepalive prices connections."""

from __future__ import annotations

import pytest

from minireactor.lab.compare import compare_keepalive, compare_servers


@pytest.mark.timeout(90)
def test_compare_servers_runs_minireactor_on_each_backend(backend: str) -> None:
    rows = compare_servers(
        ["threads", "minireactor"],
        clients=[2],
        duration=0.3,
        backends=[backend],
        show_progress=False,
        engine="python",
        idle=20,
    )
    assert [(r["model"], r["backend"], r["label"]) for r in rows] == [
        ("threads", None, "threads"),
        ("minireactor", backend, f"minireactor/{backend}"),
    ]
    for row in rows:
        assert row["requests"] > 0 and row["errors"] == 0 and row["starved"] == 0, row


@pytest.mark.timeout(90)
def test_compare_keepalive_measures_both_ways() -> None:
    rows = compare_keepalive(["minireactor"], duration=0.3, show_progress=False)
    (row,) = rows
    assert row["model"] == "minireactor"
    assert row["keepalive"] > 0 and row["new_connection"] > 0
    assert row["connection_cost_us"] == row["connection_cost_us"]  # a number, not nan
