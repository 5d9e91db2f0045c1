"""The tracer on every backend: what it records, its statistics and exports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import spin
from support import Collector, RecordingClientFactory, echo_factory

import minireactor.trace
from minireactor import Reactor
from minireactor.tcp import TCPTransport

pytestmark = pytest.mark.timeout(60)



def transports_of(reactor: Reactor) -> list[TCPTransport]:
    """The TCP connections the reactor owns now."""
    return [r for r in reactor.lifecycle.owned() if isinstance(r, TCPTransport)]

def echo_once(reactor: Reactor, payload: bytes = b"hello") -> None:
    port = reactor.listen_tcp(0, echo_factory())
    client = RecordingClientFactory(lambda: Collector(payload, half_close=True))
    reactor.connect_tcp(*port.address, client)
    spin(reactor, lambda: bool(client.protocols) and client.protocols[0].done)


def test_record_captures_waits_callbacks_timers_and_io(reactor: Reactor) -> None:
    with minireactor.trace.record(reactor) as trace:
        fired: list[int] = []
        reactor.call_later(0.01, fired.append, 1)
        reactor.call_soon(fired.append, 0)
        echo_once(reactor, b"x" * 1000)
        spin(reactor, lambda: len(fired) == 2)
    kinds = {e.kind for e in trace.events}
    assert {"wait", "callback", "timer", "accept", "read", "write"} <= kinds
    reads = [e for e in trace.of_kind("read") if e.extra["bytes"]]
    assert sum(e.extra["bytes"] for e in reads) == 2000  # server and client each read 1000
    assert all(e.end >= e.start for e in trace.events)
    assert all(e.thread == threading.current_thread().name for e in trace.of_kind("callback"))
    timers = trace.of_kind("timer")
    assert timers and timers[0].name.endswith("append") and timers[0].extra["late"] >= 0
    assert any(e.extra["events"] > 0 for e in trace.of_kind("wait"))
    # Switched off again: nothing more is recorded, and the plain _call is back.
    count = len(trace.events)
    reactor.call_soon(print)
    reactor.iterate(0)
    assert len(trace.events) == count and "_call" not in vars(reactor)


def test_stats_count_total_and_max(reactor: Reactor) -> None:
    with minireactor.trace.record(reactor) as trace:
        for _ in range(5):
            reactor.call_soon(sorted, range(1000))
        reactor.iterate(0)
    row = trace.stats()["sorted"]
    assert row["count"] == 5 and 0 < row["max"] <= row["total"]


def test_perfetto_export_is_valid_trace_event_json(reactor: Reactor, tmp_path: Path) -> None:
    with minireactor.trace.record(reactor) as trace:
        echo_once(reactor)
    path = tmp_path / "trace.json"
    trace.save_perfetto(path)
    data = json.loads(path.read_text())
    complete = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(complete) == len(trace.events)
    assert {"name", "cat", "ts", "dur", "pid", "tid", "args"} <= set(complete[0])
    names = [e["args"]["name"] for e in data["traceEvents"] if e["ph"] == "M"]
    assert threading.current_thread().name in names


def test_plot_draws_one_lane_per_thread(reactor: Reactor) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    with minireactor.trace.record(reactor) as trace:
        echo_once(reactor)
    trace.add("thread", "worker job", trace.origin, trace.origin + 0.001)
    fig = trace.plot()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [threading.current_thread().name]
    assert len(ax.collections) == len(trace.events)


def test_reactor_trace_flag(backend: str) -> None:
    reactor = Reactor(backend=backend, trace=True)
    try:
        reactor.call_soon(list)
        reactor.iterate(0)
        assert reactor.tracer is not None and reactor.tracer.of_kind("callback")
    finally:
        reactor.close()


def test_a_whole_script_traced_through_the_environment(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            from minireactor import Reactor
            r = Reactor()
            r.call_later(0.01, r.stop)
            r.run()
            """
        )
    )
    out = tmp_path / "trace.json"
    env = {"MINIREACTOR_TRACE_FILE": str(out), "PYTHONPATH": str(Path.cwd())}
    subprocess.run([sys.executable, str(script)], check=True, env=env, timeout=30)
    events = json.loads(out.read_text())["traceEvents"]
    assert any(e.get("cat") == "timer" for e in events)


def test_thread_pool_jobs_are_drawn_in_their_workers_lanes(reactor: Reactor) -> None:
    from minireactor.threads import defer_to_thread

    with minireactor.trace.record(reactor) as trace:
        results: list[int] = []
        d = defer_to_thread(reactor, sum, range(1000))
        d.add_callback(results.append)
        spin(reactor, lambda: bool(results))
    jobs = trace.of_kind("thread")
    assert results == [499500]
    assert len(jobs) == 1 and jobs[0].name == "sum"
    assert jobs[0].thread != threading.current_thread().name  # a worker's lane


def test_minireactor_trace_command_records_a_script(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "from minireactor import Reactor\nr = Reactor()\nr.call_later(0.01, r.stop)\nr.run()\n"
    )
    out = tmp_path / "t.json"
    png = tmp_path / "t.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "minireactor.cli",
            "trace",
            "-o",
            str(out),
            "--plot",
            str(png),
            "--",
            sys.executable,
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "events written to" in proc.stderr
    assert json.loads(out.read_text())["traceEvents"]
    assert png.stat().st_size > 1000


def test_minireactor_trace_without_a_command_is_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "minireactor.cli", "trace", "-o", "x.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "give a command after --" in proc.stderr


def test_tracing_switched_on_later_sees_existing_connections_bytes(reactor: Reactor) -> None:
    port = reactor.listen_tcp(0, echo_factory())
    client = RecordingClientFactory(lambda: Collector(b""))
    reactor.connect_tcp(*port.address, client)
    spin(reactor, lambda: bool(client.protocols) and len(transports_of(reactor)) == 2)
    with minireactor.trace.record(reactor) as trace:
        client.protocols[0].transport.write(b"y" * 100)
        spin(reactor, lambda: len(client.protocols[0].received) == 100)
    assert sum(e.extra["bytes"] for e in trace.of_kind("read")) == 200
    assert all(conn.tracer is None for conn in transports_of(reactor))


def test_loop_lag_plot_and_lab_reports_share_the_renderer(reactor: Reactor) -> None:
    pytest.importorskip("matplotlib")
    import time as time_module

    import matplotlib

    matplotlib.use("Agg")
    from minireactor.lab import fetch_all, internet
    from minireactor.lab.trace_report import events_from_report

    with minireactor.trace.record(reactor) as trace:
        reactor.call_later(0.0, time_module.sleep, 0.05)  # blocks the loop...
        late: list[int] = []
        reactor.call_later(0.01, late.append, 1)  # ...so this timer runs late
        spin(reactor, lambda: bool(late))
    assert max(lag for _, lag in trace.loop_lag()) >= 0.03
    assert trace.plot_lag().axes[0].lines
    with internet(seed=1, latency=0.01) as net:
        report = fetch_all(net.urls(6), strategy="thread_pool", concurrency=3, timeout=5.0)
    events = events_from_report(report)
    fig = minireactor.trace.timeline(events)
    lanes = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(events) == 6 and 1 <= len(lanes) <= 3  # one lane per pool worker


def test_take_hands_over_what_is_new_and_keeps_the_trace_small() -> None:
    trace = minireactor.trace.Trace()
    trace.add("callback", "f", 0.0, 1.0)
    assert [e.name for e in trace.take()] == ["f"] and trace.events == []
    trace.add("callback", "g", 1.0, 2.0)
    trace.add("timer", "h", 2.0, 3.0)
    assert [e.name for e in trace.take()] == ["g", "h"]
    assert trace.take() == []
