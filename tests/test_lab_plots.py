"""Each plot draws, returns its figure, and draws into an axes it is given."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import pytest
from conftest import spin

from minireactor import Factory, Protocol, Reactor
from minireactor.lab import plots
from minireactor.lab.load import LoadResult
from minireactor.lab.report import Record, Report
from minireactor.trace import Event, Trace

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
    {"model": m, "clients": c, "throughput": 100.0 * c, "p99_ms": 1.0 + c, "starved": 0}
    for m in ("threads", "minireactor")
    for c in (1, 10)
]
MEMORY = [
    {"model": m, "connections": n, "per_connection_bytes": b * n, "note": ""}
    for m, b in (("threads", 20000), ("minireactor", 1000))
    for n in (100, 1000)
] + [{"model": "threads", "connections": 10**6, "per_connection_bytes": None, "note": "skipped"}]
TWISTED = {
    loop: {"loop": loop, "reactor": "R", "seconds": s, "round_trips": 1000}
    for loop, s in (("twisted", 0.5), ("asyncio", 0.4), ("minireactor", 0.6))
}


def demo_trace() -> Trace:
    trace = Trace()
    t = trace.origin
    trace.events += [
        Event("accept", "Port", t + 0.1, t + 0.1, "main", {"bytes": 0}),
        Event("read", "TCPTransport", t + 0.2, t + 0.2, "main", {"bytes": 5}),
        Event("write", "TCPTransport", t + 0.2, t + 0.2, "main", {"bytes": 5}),
        Event("callback", "shout", t + 0.2, t + 0.25, "main"),
        Event("timer", "refresh", t + 0.5, t + 0.51, "main", {"late": 0.02}),
    ]
    return trace


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
        lambda ax: plots.memory_per_connection(MEMORY, ax=ax),
        lambda ax: plots.twisted_loops(TWISTED, ax=ax),
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


def test_demo_timeline_draws_into_two_given_axes() -> None:
    fig, axes = plt.subplots(2, 1)
    assert plots.demo_timeline(demo_trace(), bins=10, axes=axes) is fig
    assert all(ax.has_data() for ax in axes)
    own = plots.demo_timeline(demo_trace())
    assert own is not fig and len(own.axes) >= 2
    plt.close("all")


def _colour(artist: object) -> str:
    from matplotlib.colors import to_hex

    if hasattr(artist, "get_color"):
        return str(to_hex(artist.get_color()))
    return str(to_hex(artist.get_facecolor()))  # type: ignore[attr-defined]


def _colours_by_label(fig: object, names: list[str]) -> dict[str, str]:
    """name -> colour of the line or bar drawn for it (legend labels or tick labels)."""
    ax = fig.axes[0]  # type: ignore[attr-defined]
    found = {}
    for line in ax.get_lines():
        label = str(line.get_label()).split(" (")[0]
        if label in names:
            found[label] = _colour(line)
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels() + ax.get_yticklabels()]
    bars = list(ax.patches)
    for name in names:
        if name not in found and name in labels and len(bars) >= len(names):
            found[name] = _colour(bars[[n for n in labels if n in names].index(name)])
    return found


NAMES = ["threads", "asyncio", "minireactor"]


def test_one_palette_across_every_figure() -> None:
    """A model or strategy has the same colour in every figure that draws it."""
    figures = [
        plots.wall_times([report(n, 1, 1.0 + i) for i, n in enumerate(NAMES)]),
        plots.wall_vs_concurrency([report(n, c, 1.0) for n in NAMES for c in (1, 5)]),
        plots.throughput_vs_clients([{**r, "model": n} for n in NAMES for r in ROWS[:2]]),
        plots.p99_vs_clients([{**r, "model": n} for n in NAMES for r in ROWS[:2]]),
        plots.latency_cdf({n: [0.001, 0.002] for n in NAMES}),
        plots.memory_per_connection([{**r, "model": n} for n in NAMES for r in MEMORY[:2]]),
        plots.twisted_loops({n: TWISTED["twisted"] for n in NAMES}),
    ]
    from matplotlib.colors import to_hex

    expected = {n: to_hex(plots.PALETTE[n][0]) for n in NAMES}
    for fig in figures:
        assert _colours_by_label(fig, NAMES) == expected, fig.axes[0].get_title()
    markers = {
        str(line.get_label()): line.get_marker()
        for fig in figures[1:4]
        for line in fig.axes[0].get_lines()
    }
    assert all(markers[n] == plots.PALETTE[n][1] for n in NAMES)
    plt.close("all")


def test_style_knows_backends_and_invents_stable_styles() -> None:
    assert plots.style("minireactor/epoll")["color"] == plots.BACKEND_PALETTE["epoll"][0]
    assert plots.style("minireactor/epoll") != plots.style("minireactor/select")
    assert plots.style("something new") == plots.style("something new")
    assert plots.style("iterative") == plots.style("sequential")  # one at a time, both


def test_starved_runs_are_marked_on_the_server_plots() -> None:
    rows = [
        *ROWS,
        {"model": "iterative", "clients": 10, "throughput": 50.0, "p99_ms": 2.0, "starved": 9},
    ]
    fig = plots.throughput_vs_clients(rows)
    ax = fig.axes[0]
    assert any("starved" in t.get_text() for t in ax.texts)
    assert any("starved" in str(c.get_label()) for c in ax.collections)
    clean = plots.throughput_vs_clients(ROWS)
    assert not clean.axes[0].texts
    cdf = plots.latency_cdf(
        {"iterative": LoadResult("echo", 20, 1.0, starved=19, latencies=[0.001])}
    )
    assert "19 of 20 connections starved" in cdf.axes[0].get_legend().get_texts()[0].get_text()
    plt.close("all")


@pytest.mark.timeout(30)
def test_demo_timeline_from_a_real_trace(reactor: Reactor) -> None:
    """A trace recorded on each backend while clients come and talk draws every lane."""

    class Shout(Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data.upper())

    trace = Trace()
    reactor.set_tracer(trace)
    port = reactor.listen_tcp(0, Factory.for_protocol(Shout), interface="127.0.0.1")
    reactor.call_later(0.01, lambda: None)  # one timer, for the lateness line
    for _ in range(3):
        with socket.create_connection(port.address, timeout=5) as student:
            student.sendall(b"hi")
            got: list[bytes] = []

            def answered(student: socket.socket = student, got: list[bytes] = got) -> bool:
                student.setblocking(False)
                with contextlib.suppress(BlockingIOError):  # nothing yet: spin again
                    got.append(student.recv(16))
                return b"".join(got) == b"HI"

            spin(reactor, answered)
    spin(reactor, lambda: bool(trace.of_kind("timer")))
    reactor.set_tracer(None)
    kinds = {e.kind for e in trace.events}
    assert {"accept", "read", "write", "timer"} <= kinds
    fig = plots.demo_timeline(trace, bins=10)
    top = fig.axes[0]
    assert {line.get_label() for line in top.get_lines()} == {"accepts", "reads", "writes"}
    assert max(top.get_lines()[0].get_ydata()) > 0  # the accepts were counted
    plt.close(fig)
