"""Each plot draws, returns its figure, and draws into an axes it is given."""

from __future__ import annotations

import pytest

from minireactor.lab import plots
from minireactor.lab.load import LoadResult
from minireactor.lab.report import Record, Report

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


def report(strategy: str, concurrency: int, wall: float) -> Report:
    records = [
        Record(
            f"http://x/site/{i}",
            200 if i % 4 else 500,
            10,
            100.0 + i * 0.1,
            100.5 + i * 0.1,
            f"w{i % 3}",
            None if i % 4 else "http 500",
        )
        for i in range(8)
    ]
    return Report(strategy, concurrency, records, wall, 100.0)


ROWS = [
    {"model": m, "clients": c, "throughput": 100.0 * c, "p99_ms": 1.0 + c}
    for m in ("threads", "minireactor")
    for c in (1, 10)
]


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: plots.timeline(report("threads", 3, 1.3), ax=ax),
        lambda ax: plots.timeline(report("threads", 3, 1.3), by="worker", ax=ax),
        lambda ax: plots.wall_times([report("a", 1, 2.0), report("b", 5, 0.5)], ax=ax),
        lambda ax: plots.wall_vs_concurrency([report("a", 1, 2.0), report("a", 5, 0.5)], ax=ax),
        lambda ax: plots.throughput_vs_clients(ROWS, ax=ax),
        lambda ax: plots.p99_vs_clients(ROWS, ax=ax),
        lambda ax: plots.latency_cdf(
            {"a": LoadResult("http", 1, 1.0, latencies=[0.001, 0.002, 0.01]), "b": [0.003]},
            ax=ax,
        ),
    ],
)
def test_plot_returns_figure_and_uses_the_given_axes(draw: object) -> None:
    fig, ax = plt.subplots()
    assert draw(ax) is fig  # type: ignore[operator]
    assert ax.has_data()
    plt.close(fig)
    own = draw(None)  # type: ignore[operator]
    assert own.axes and own is not fig
    plt.close(own)
