"""Tests for minireactor/demo/dashboard.py, sse.py and meters.py.

The meters are tested with synthetic events and a fake clock. The web
application is tested over loopback on every backend, with raw sockets as
the browser (so we see the exact bytes of the event stream), and the restart
loop in a background thread.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import spin

from minireactor import Reactor
from minireactor.demo.chat import ChatLimits, ChatRoom
from minireactor.demo.dashboard import Dashboard, DashboardConfig, DashboardServer, load_page
from minireactor.demo.meters import LagProbe, RateMeter, Timeline
from minireactor.demo.private_file import PrivateFile
from minireactor.demo.sse import format_event
from minireactor.testing import Clock
from minireactor.trace import Event

# -- the pieces -------------------------------------------------------------------------


def test_format_event_splits_data_lines() -> None:
    assert format_event("stats", '{"a": 1}') == b'event: stats\ndata: {"a": 1}\n\n'
    assert format_event("x", "one\ntwo") == b"event: x\ndata: one\ndata: two\n\n"
    assert format_event("x", "") == b"event: x\ndata: \n\n"
    with pytest.raises(ValueError, match="line break"):
        format_event("bad\nname", "")


def test_rate_meter_averages_over_its_window() -> None:
    meter = RateMeter(window=2.0)
    assert meter.rate() == 0.0
    meter.sample(0.0, 0)
    meter.sample(1.0, 10)
    assert meter.rate() == 10.0
    for t in range(2, 10):
        meter.sample(float(t), 10)  # nothing more happens
    assert meter.rate() == 0.0


def test_lag_probe_measures_its_own_lateness() -> None:
    clock = Clock()
    probe = LagProbe(clock, interval=0.1, window=1.0)
    clock.advance(0.1)
    assert probe.lag() == 0.0
    clock.advance(0.35)  # the loop was blocked: the probe ran 0.25 s late
    assert probe.lag() == pytest.approx(0.25)
    for _ in range(20):
        clock.advance(0.1)
    assert probe.lag() == 0.0  # the stall has left the window
    probe.stop()
    assert clock.get_delayed_calls() == []


def ev(kind: str, start: float, end: float) -> Event:
    return Event(kind, "f", start, end, "MainThread")


def test_timeline_spreads_events_over_buckets() -> None:
    timeline = Timeline(width=0.5, span=10.0)
    timeline.start_recording(0.0)
    events = [
        ev("wait", 0.0, 0.75),
        ev("callback", 0.75, 1.0),
        ev("timer", 1.25, 1.5),
        ev("read", 1.3, 1.3),
    ]
    finished = timeline.absorb(events, now=2.6)
    assert [(b.index, b.busy, b.wait, b.callbacks, b.recorded) for b in finished] == [
        (0, 0.0, 0.5, 0, 0.5),
        (1, 0.25, 0.25, 1, 0.5),
        (2, 0.25, 0.0, 1, 0.5),
        (3, 0.0, 0.0, 0, 0.5),
    ]
    assert timeline.recent()[1] == [1, 0.5, 0.5, 1]
    # An event that arrives for a bucket already shown is dropped, not double-shown.
    assert [b.index for b in timeline.absorb([ev("callback", 1.0, 1.1)], now=3.1)] == [4]
    # After a long quiet spell only the last `span` seconds are kept.
    timeline.absorb([], now=100.0)
    assert len(timeline.done) == 20
    assert timeline.done[-1].index == 198


def test_timeline_shares_count_only_the_time_it_was_recording() -> None:
    timeline = Timeline(width=1.0, span=10.0)
    timeline.start_recording(1.5)  # half of bucket 1 happened before the tracer was on
    timeline.absorb([ev("callback", 1.5, 2.0)], now=3.0)
    timeline.stop_recording(3.0)
    timeline.start_recording(5.0)  # a restart: bucket 3 and 4 were not recorded at all
    timeline.absorb([ev("wait", 5.0, 6.0)], now=7.5)
    rows = timeline.recent()
    assert rows == [
        [1, 1.0, 0.0, 1],
        [2, 0.0, 0.0, 0],
        [3, 0.0, 0.0, 0],
        [4, 0.0, 0.0, 0],
        [5, 0.0, 1.0, 0],
    ]


def test_the_page_is_self_contained() -> None:
    page = load_page()
    assert b'id="connections"' in page and b"EventSource" in page
    assert b"://" not in page  # no CDN, no web fonts: classrooms are often offline


# -- the web application, on every backend --------------------------------------------------


class Browser:
    """A raw HTTP client: a socket we read without blocking while the reactor spins."""

    def __init__(self, reactor: Reactor, address: tuple[str, int]) -> None:
        self.reactor = reactor
        self.sock = socket.create_connection(address, timeout=5)
        self.sock.setblocking(False)
        self.data = b""
        self.eof = False

    def send(self, method: str, path: str, body: bytes = b"") -> None:
        head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)

    def pump(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.data += chunk
            self.eof = True
        except BlockingIOError:
            pass

    def wait_for(self, text: bytes) -> None:
        spin(self.reactor, lambda: (self.pump(), text in self.data)[1], timeout=5)

    def response(self) -> tuple[int, str, bytes]:
        """Wait for the whole response; returns (status, head, body)."""
        spin(self.reactor, lambda: (self.pump(), self.eof)[1], timeout=5)
        head, _, body = self.data.partition(b"\r\n\r\n")
        return int(head.split()[1]), head.decode(), body

    def frames(self) -> list[tuple[str, Any]]:
        """The (event, data) frames of an event stream received so far."""
        body = dechunk(self.data.partition(b"\r\n\r\n")[2]).decode()
        out = []
        for frame in body.split("\n\n")[:-1]:
            fields = dict(line.split(": ", 1) for line in frame.split("\n") if ": " in line)
            if "event" in fields:
                out.append((fields["event"], json.loads(fields["data"])))
        return out

    def close(self) -> None:
        self.sock.close()


def dechunk(data: bytes) -> bytes:
    """The body carried by the complete chunks in `data` (RFC 9112 section 7.1)."""
    body = bytearray()
    while b"\r\n" in data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0 or len(rest) < size + 2:
            break
        body += rest[:size]
        data = rest[size + 2 :]
    return bytes(body)


@pytest.fixture
def dashboard(reactor: Reactor) -> Iterator[Dashboard]:
    config = DashboardConfig(
        port=0, chat_port=0, tick=0.05, admin_token="s3cret", limits=ChatLimits(rate=1, burst=1)
    )
    dash = Dashboard(reactor, config, ChatRoom(config.limits), Timeline())
    dash.start()
    yield dash


def request(dash: Dashboard, method: str, path: str, body: Any = None) -> tuple[int, str, bytes]:
    browser = Browser(dash.reactor, dash.http_address)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
        browser.send(method, path, data)
        return browser.response()
    finally:
        browser.close()


@pytest.mark.timeout(20)
def test_get_root_serves_the_page(dashboard: Dashboard) -> None:
    status, head, body = request(dashboard, "GET", "/")
    assert status == 200
    assert "Content-Type: text/html; charset=utf-8" in head
    assert body == load_page()


@pytest.mark.timeout(20)
def test_get_stats_returns_json(dashboard: Dashboard) -> None:
    chat = socket.create_connection(dashboard.chat_address)
    try:
        spin(dashboard.reactor, lambda: len(dashboard.room) == 1)
        status, head, body = request(dashboard, "GET", "/stats")
    finally:
        chat.close()
    assert status == 200 and "application/json" in head
    stats = json.loads(body)
    assert stats["backend"] == dashboard.reactor.backend_name
    assert stats["connections"] == 1
    assert stats["chat_port"] == dashboard.chat_address[1]
    assert set(stats) >= {"messages_per_s", "loop_lag_ms", "backends", "timeline", "busy"}


@pytest.mark.timeout(20)
def test_events_stream_stats_and_chat(dashboard: Dashboard) -> None:
    viewer = Browser(dashboard.reactor, dashboard.http_address)
    viewer.sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
    viewer.wait_for(b"event: stats")
    chat = socket.create_connection(dashboard.chat_address)
    try:
        head = viewer.data.partition(b"\r\n\r\n")[0].decode()
        assert head.startswith("HTTP/1.1 200 OK")
        assert "Content-Type: text/event-stream" in head and "Content-Length" not in head
        assert "Transfer-Encoding: chunked" in head  # the connection outlives the stream
        assert viewer.frames()[0][0] == "hello"
        spin(dashboard.reactor, lambda: len(dashboard.room) == 1)

        def chats() -> list[str]:
            batches = [data for event, data in viewer.frames() if event == "chat"]
            return [line["text"] for batch in batches for line in batch["lines"]]

        chat.sendall(b"hello from nc\n")
        # Two clients, two sockets: nothing orders them unless we wait for the first line.
        spin(dashboard.reactor, lambda: (viewer.pump(), len(chats()) == 2)[1])
        assert request(dashboard, "POST", "/say", {"nick": "bob", "text": "hi"})[0] == 200

        def counted() -> bool:
            viewer.pump()
            stats = [data for event, data in viewer.frames() if event == "stats"]
            last = stats[-1]
            return last["connections"] == 1 and last["messages_per_s"] > 0 and len(chats()) == 3

        spin(dashboard.reactor, counted)
        assert chats() == ["* guest1 joined", "<guest1> hello from nc", "<bob@web> hi"]
        assert dashboard.snapshot()["viewers"] == 1
    finally:
        chat.close()
        viewer.close()
    spin(dashboard.reactor, lambda: not dashboard.streams)  # a viewer that left is forgotten


@pytest.mark.timeout(20)
def test_a_flood_of_chat_reaches_the_page_in_small_batches(dashboard: Dashboard) -> None:
    viewer = Browser(dashboard.reactor, dashboard.http_address)
    try:
        viewer.sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        viewer.wait_for(b"event: hello")
        for i in range(100):
            dashboard.room.say(None, "bot", f"line {i}")
        viewer.wait_for(b"event: chat")
        (batch,) = [data for event, data in viewer.frames() if event == "chat"]
    finally:
        viewer.close()
    assert [line["text"] for line in batch["lines"]] == [f"<bot> line {i}" for i in range(80, 100)]
    assert batch["skipped"] == 80


@pytest.mark.timeout(20)
def test_viewers_past_the_limit_are_told_and_the_stream_ends(dashboard: Dashboard) -> None:
    dashboard.config.max_viewers = 1
    first = Browser(dashboard.reactor, dashboard.http_address)
    second = Browser(dashboard.reactor, dashboard.http_address)
    try:
        first.sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        first.wait_for(b"event: hello")
        second.sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        second.wait_for(b"\r\n0\r\n\r\n")  # the last chunk: the response is complete
        assert [event for event, _ in second.frames()] == ["full"]
        assert len(dashboard.streams) == 1
    finally:
        first.close()
        second.close()


@pytest.mark.timeout(30)
def test_a_viewer_that_stops_reading_is_cut_off(dashboard: Dashboard) -> None:
    viewer = Browser(dashboard.reactor, dashboard.http_address)
    viewer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        viewer.sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        viewer.wait_for(b"event: hello")
        frame = format_event("padding", "x" * 64 * 1024)
        for _ in range(256):  # 16 MiB at most: past the kernel's buffers and MAX_STREAM_BUFFER
            if not dashboard.streams:
                break
            dashboard._broadcast(frame)
            dashboard.reactor.iterate(0)
        assert not dashboard.streams  # hung up on, and forgotten
    finally:
        viewer.close()


@pytest.mark.timeout(20)
def test_bad_requests_get_clear_answers(dashboard: Dashboard) -> None:
    assert request(dashboard, "GET", "/nope")[0] == 404
    status, head, _ = request(dashboard, "GET", "/say")
    assert status == 405 and "Allow: POST" in head
    status, _, body = request(dashboard, "POST", "/say", b"not json")
    assert status == 400 and b"JSON" in body
    status, _, body = request(dashboard, "POST", "/say", {"nick": "no way", "text": "x"})
    assert status == 400 and b"not a nickname" in body
    assert request(dashboard, "POST", "/say", {"nick": "amy", "text": "one"})[0] == 200
    status, _, body = request(dashboard, "POST", "/say", {"nick": "amy", "text": "two"})
    assert status == 429 and b"slow down" in body
    status, _, body = request(dashboard, "POST", "/restart", {"backend": "poll", "token": "x"})
    assert status == 403 and b"instructor" in body
    status, _, body = request(dashboard, "POST", "/restart", {"backend": "nope", "token": "s3cret"})
    assert status == 400 and b"unknown backend" in body
    assert dashboard.restart_to is None


# -- restarting on another backend --------------------------------------------------------


def _post(url: str, body: dict[str, str]) -> int:
    req = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=5) as response:
        return int(response.status)


@pytest.mark.timeout(30)
def test_restart_moves_to_another_backend_on_the_same_ports() -> None:
    config = DashboardConfig(port=0, chat_port=0, backend="select", admin_token="tok")
    lines: list[str] = []
    server = DashboardServer(config, out=lines.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert server.started.wait(10)
        base = f"http://127.0.0.1:{config.port}"
        chat_port = config.chat_port
        with urllib.request.urlopen(base + "/stats", timeout=5) as response:
            assert json.load(response)["backend"] == "select"
        assert _post(base + "/restart", {"backend": "poll", "token": "tok"}) == 202
        deadline = threading.Event()
        for _ in range(100):
            dash = server.dashboard
            if dash is not None and dash.reactor.backend_name == "poll" and dash.reactor.running:
                break
            deadline.wait(0.05)
        with urllib.request.urlopen(base + "/stats", timeout=5) as response:
            stats = json.load(response)
        assert stats["backend"] == "poll" and stats["chat_port"] == chat_port
        assert "on the select backend" in lines[0] and "on the poll backend" in lines[1]
        assert "tok" not in "".join(lines)  # never printed: it is in the private file
        assert server.token_file is not None and server.token_file.path.name in lines[1]
    finally:
        server.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_stop_before_run_returns_at_once() -> None:
    server = DashboardServer(DashboardConfig(port=0, chat_port=0), out=lambda line: None)
    server.stop()
    server.run()
    assert server.dashboard is None


def test_http_error_body_for_urllib() -> None:
    """urllib raises on 4xx; the restart endpoint's refusal is still readable JSON."""
    config = DashboardConfig(port=0, chat_port=0, admin_token="tok")
    server = DashboardServer(config, out=lambda line: None)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert server.started.wait(10)
        with pytest.raises(urllib.error.HTTPError) as info:
            _post(f"http://127.0.0.1:{config.port}/restart", {"backend": "poll", "token": "no"})
        assert info.value.code == 403
        assert "instructor" in json.load(info.value)["error"]
    finally:
        server.stop()
        thread.join(10)


@pytest.mark.timeout(30)
def test_admin_token_goes_to_a_private_file_not_the_terminal(tmp_path: Path) -> None:
    target = tmp_path / "link.txt"
    target.write_text("stale, and readable by all")
    target.chmod(0o644)
    config = DashboardConfig(
        port=0, chat_port=0, admin_token="s3cret-t0ken", token_file=str(target)
    )
    lines: list[str] = []
    server = DashboardServer(config, out=lines.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert server.started.wait(10)
        assert target.stat().st_mode & 0o777 == 0o600
        link = target.read_text().strip()
        assert link == f"http://127.0.0.1:{config.port}/?admin=s3cret-t0ken"
        assert "s3cret" not in "\n".join(lines) and str(target) in lines[0]
        token = parse_qs(urlsplit(link).query)["admin"][0]
        assert (
            _post(f"http://127.0.0.1:{config.port}/restart", {"backend": "poll", "token": token})
            == 202
        )
    finally:
        server.stop()
        thread.join(10)
    assert not target.exists()


def test_private_file_refuses_to_follow_a_symbolic_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "link").symlink_to(victim)
    with pytest.raises(OSError):
        PrivateFile(tmp_path / "link").write("secret")
    assert victim.read_text() == "keep me"
    own = PrivateFile()  # a private directory of its own
    own.write("secret")
    assert own.path.parent.stat().st_mode & 0o777 == 0o700
    assert own.path.stat().st_mode & 0o777 == 0o600
    own.remove()
    assert not own.path.parent.exists()
