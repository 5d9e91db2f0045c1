"""The dashboard: the chat server plus a live web page about its loop.

One reactor serves three things at once: the chat (`chat.py`) on one port,
and on another a small web application:

* ``GET /``        the page (`static/dashboard.html`: plain HTML and JS,
  no build step and nothing fetched from the internet);
* ``GET /events``  a Server-Sent Events stream (`sse.py`): a "hello" event
  with the history, then "stats" twice a second and "chat" with new lines
  (batched: a flooded chat must not flood the browser too);
* ``GET /stats``   the same numbers once, as JSON;
* ``POST /say``    a chat line from the page, JSON ``{"nick", "text"}``;
* ``POST /restart`` JSON ``{"backend", "token"}``: restart on another
  backend. The token is never printed (the terminal may be on the
  projector): the instructor's link is written to a file only its owner
  can read (`private_file.py`), and the terminal names that file.

Restarting means a new `Reactor`: a backend is chosen when a reactor is
created, and a reactor cannot be run twice. `DashboardServer.run` is the
loop around that: run a reactor until it stops; if it stopped for a restart,
make one on the new backend and listen on the same ports again. The chat
room, its counters and the timeline live outside the reactors, so the page
picks up where it left off; people on the chat must reconnect.

Read next: `static/dashboard.html` (the page's side), then `cli.py`.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..backends import available_backends
from ..protocols.http import Request, Response, server_factory
from ..reactor import Reactor
from ..timers import DelayedCall
from ..trace import Trace
from .chat import ChatError, ChatEvent, ChatLimits, ChatRoom, FloodError, chat_factory
from .meters import LagProbe, RateMeter, Timeline
from .private_file import PrivateFile
from .sse import EventStream, format_event

__all__ = ["Dashboard", "DashboardConfig", "DashboardServer", "load_page"]

_JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}
CHAT_BATCH = 20
"""The most chat lines sent to the page at once (the newest; the rest are counted)."""
CHAT_FLUSH_DELAY = 0.1
"""Seconds chat lines wait to be sent to the page together."""
_ROUTES = {"/": "GET", "/stats": "GET", "/events": "GET", "/say": "POST", "/restart": "POST"}


def load_page() -> bytes:
    """The dashboard's web page, shipped inside the package."""
    return resources.files(__package__).joinpath("static/dashboard.html").read_bytes()


@dataclass
class DashboardConfig:
    """How to run the dashboard.

    Attributes:
        host: the interface for both ports ("0.0.0.0" to let a classroom in).
        port: the web page's port (0: any free one).
        chat_port: the chat's port (0: any free one).
        backend: the first backend ("auto": the best here).
        trace: record the loop with the tracer, for the timeline (it costs
            some speed; without it the page still shows lag and rates).
        admin_token: the secret that allows a restart from the page.
        token_file: where to write the instructor's link with the token (mode
            0600); None: a new private temporary directory. Removed on exit.
        limits: the chat's limits.
        tick: seconds between stats updates.
        max_viewers: event streams open at once.
    """

    host: str = "127.0.0.1"
    port: int = 8001
    chat_port: int = 8000
    backend: str = "auto"
    trace: bool = True
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    token_file: str | None = None
    limits: ChatLimits = field(default_factory=ChatLimits)
    tick: float = 0.5
    max_viewers: int = 200


def _json(status: int, value: Any) -> Response:
    return Response(status, _JSON, json.dumps(value))


class Dashboard:
    """The chat and the web page, served by one reactor.

    Args:
        reactor: the reactor to serve on (not yet running, or running).
        config: ports, limits and the admin token.
        room: the chat room (it may outlive this reactor).
        timeline: the loop's history (it may outlive this reactor too).

    Attributes:
        restart_to: set when someone asked for a restart on that backend.
    """

    def __init__(
        self, reactor: Reactor, config: DashboardConfig, room: ChatRoom, timeline: Timeline
    ) -> None:
        self.reactor = reactor
        self.config = config
        self.room = room
        self.timeline = timeline
        self.restart_to: str | None = None
        self.streams: set[EventStream] = set()
        self.trace = Trace() if config.trace else None
        self._rate = RateMeter()
        self._page = load_page()
        self._probe: LagProbe | None = None
        self._chat_batch: deque[ChatEvent] = deque(maxlen=CHAT_BATCH)
        self._chat_skipped = 0
        self._chat_flush: DelayedCall | None = None
        self.chat_address: tuple[str, int] = ("", 0)
        self.http_address: tuple[str, int] = ("", 0)

    def start(self) -> None:
        """Listen on both ports and start measuring.

        Raises:
            AddressInUseError: a port is taken (the message says what to do).
        """
        reactor, config = self.reactor, self.config
        self.room.backend_name = reactor.backend_name
        chat = reactor.listen_tcp(config.chat_port, chat_factory(self.room, reactor), config.host)
        web = server_factory(self.handle, clock=reactor, max_body_bytes=16 * 1024)
        http = reactor.listen_tcp(config.port, web, config.host)
        self.chat_address, self.http_address = chat.address, http.address
        if self.trace is not None:
            reactor.set_tracer(self.trace)
            self.timeline.start_recording(time.perf_counter())
        self._probe = LagProbe(reactor)
        self.room.add_listener(self._on_chat)
        reactor.add_system_event_trigger("before", "shutdown", self._stop)
        reactor.call_later(config.tick, self._tick)

    def _stop(self) -> None:
        self.room.remove_listener(self._on_chat)
        if self._probe is not None:
            self._probe.stop()
        self.reactor.set_tracer(None)
        if self.trace is not None:
            self.timeline.absorb(self.trace.take(), time.perf_counter())
            self.timeline.stop_recording(time.perf_counter())

    # -- the web application ---------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request; GET /events opens an event stream."""
        method = "GET" if request.method == "HEAD" else request.method
        allowed = _ROUTES.get(request.path)
        if allowed is None:
            return Response(404, body=f"no page {request.path}; the dashboard is at /\n")
        if method != allowed:
            return Response(405, {"Allow": allowed}, f"{request.path} takes {allowed}\n")
        if request.path == "/":
            headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
            return Response(200, headers, self._page)
        if request.path == "/stats":
            return _json(200, self.snapshot(full=True))
        if request.path == "/events":
            if request.method == "HEAD":
                return Response(200, {"Content-Type": "text/event-stream"})
            return self._subscribe(EventStream(request))
        body = self._json_body(request)
        if body is None:
            return _json(400, {"error": "send a JSON object as the body"})
        if request.path == "/say":
            return self._say(body)
        return self._restart_request(body)

    @staticmethod
    def _json_body(request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _say(self, body: dict[str, Any]) -> Response:
        nick, text = body.get("nick"), body.get("text")
        if not isinstance(nick, str) or not isinstance(text, str):
            return _json(400, {"error": 'send {"nick": "...", "text": "..."}'})
        try:
            self.room.say_from_web(nick, text)
        except FloodError as exc:
            return _json(429, {"error": str(exc)})
        except ChatError as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, {"ok": True})

    def _restart_request(self, body: dict[str, Any]) -> Response:
        token, backend = body.get("token"), body.get("backend")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), self.config.admin_token.encode()
        ):
            return _json(
                403,
                {
                    "error": "restarting needs the instructor's link (with ?admin=), "
                    "in the file named in the terminal that started the dashboard"
                },
            )
        if backend not in available_backends():
            return _json(
                400, {"error": f"unknown backend {backend!r}; choose one of {available_backends()}"}
            )
        if self.restart_to is None:
            self.restart_to = str(backend)
            # Stop a moment later, so that this answer is written first.
            self.reactor.call_later(0.2, self._restart)
        return _json(202, {"restarting": self.restart_to})

    def _restart(self) -> None:
        backend = self.restart_to
        self.room.notice(
            f"* the server is restarting on the {backend} backend; please reconnect in a second"
        )
        self._flush_chat()
        self._broadcast(format_event("restart", json.dumps({"backend": backend})))
        self.reactor.stop()

    # -- the live stream -------------------------------------------------------------

    def _subscribe(self, stream: EventStream) -> Response:
        if len(self.streams) >= self.config.max_viewers:
            stream.send("full", json.dumps({"error": "too many people are watching"}))
            stream.close()
            return stream.response
        self.streams.add(stream)
        stream.on_close = self.streams.discard
        history = [dataclasses.asdict(event) for event in self.room.history]
        stream.send("hello", json.dumps({"stats": self.snapshot(full=True), "chat": history}))
        return stream.response

    def _on_chat(self, event: ChatEvent) -> None:
        # A class hammering the chat sends thousands of lines a second; no
        # one reads that, and a browser adding each to the page would freeze.
        # So lines are sent in batches, at most CHAT_BATCH of them each time.
        if len(self._chat_batch) == CHAT_BATCH:
            self._chat_skipped += 1
        self._chat_batch.append(event)
        if self._chat_flush is None:
            self._chat_flush = self.reactor.call_later(CHAT_FLUSH_DELAY, self._flush_chat)

    def _flush_chat(self) -> None:
        self._chat_flush = None
        if self._chat_batch:
            lines = [dataclasses.asdict(event) for event in self._chat_batch]
            data = json.dumps({"lines": lines, "skipped": self._chat_skipped})
            self._chat_batch.clear()
            self._chat_skipped = 0
            self._broadcast(format_event("chat", data))

    def _broadcast(self, frame: bytes) -> None:
        for stream in list(self.streams):
            stream.send_raw(frame)

    def _tick(self) -> None:
        """Measure, send "stats" to every viewer, and come back in `config.tick` s."""
        self._rate.sample(self.reactor.seconds(), self.room.messages)
        new: list[list[float]] = []
        if self.trace is not None:
            finished = self.timeline.absorb(self.trace.take(), time.perf_counter())
            new = [bucket.as_list() for bucket in finished]
        stats = self.snapshot()
        stats["timeline"] = new
        self._broadcast(format_event("stats", json.dumps(stats)))
        self.reactor.call_later(self.config.tick, self._tick)

    def snapshot(self, full: bool = False) -> dict[str, Any]:
        """The numbers the page shows; with `full`, the whole timeline too."""
        recent = list(self.timeline.done)[-10:]
        recorded = sum(b.recorded for b in recent)
        busy = sum(b.busy for b in recent) / recorded if recorded else 0.0
        return {
            "backend": self.reactor.backend_name,
            "backends": available_backends(),
            "connections": len(self.room),
            "viewers": len(self.streams),
            "messages": self.room.messages,
            "messages_per_s": round(self._rate.rate(), 1),
            "dropped": self.room.dropped,
            "loop_lag_ms": round(self._probe.lag() * 1000, 1) if self._probe else 0.0,
            "busy": round(busy, 3),
            "tracing": self.trace is not None,
            "chat_port": self.chat_address[1],
            "bucket_s": self.timeline.width,
            "timeline": self.timeline.recent() if full else [],
        }


class DashboardServer:
    """Runs the dashboard, and runs it again on another backend when asked.

    Args:
        config: see `DashboardConfig`.
        out: where the banner goes (each start prints the addresses).

    Attributes:
        dashboard: the current `Dashboard` (None before the first start).
        started: set once the ports are open, so a thread can wait for it.
    """

    def __init__(self, config: DashboardConfig, out: Callable[[str], None] = print) -> None:
        self.config = config
        self.out = out
        self.room = ChatRoom(config.limits)
        self.timeline = Timeline()
        self.dashboard: Dashboard | None = None
        self.started = threading.Event()
        self._lock = threading.Lock()  # guards _reactor and _stopping, for stop()
        self._reactor: Reactor | None = None
        self._stopping = False
        self.token_file: PrivateFile | None = None

    def run(self) -> None:
        """Serve until `stop()` or Ctrl-C, restarting on request. Blocks.

        The instructor's link is written to `token_file` once the ports are
        known, and the file is removed when this returns (the token dies with
        the server).
        """
        try:
            self._serve()
        finally:
            if self.token_file is not None:
                self.token_file.remove()

    def _serve(self) -> None:
        backend = self.config.backend
        while True:
            reactor = Reactor(backend, shutdown_timeout=2.0)
            dashboard = Dashboard(reactor, self.config, self.room, self.timeline)
            try:
                dashboard.start()
            except BaseException:
                reactor.close()
                raise
            # Listen on the same ports after a restart, even if we were given 0.
            self.config.chat_port = dashboard.chat_address[1]
            self.config.port = dashboard.http_address[1]
            with self._lock:
                if self._stopping:
                    reactor.close()
                    return
                self._reactor, self.dashboard = reactor, dashboard
            if self.token_file is None:
                self.token_file = PrivateFile(self.config.token_file)
                self.token_file.write(self.instructor_link() + "\n")
            self.out(self.banner())
            self.started.set()
            try:
                reactor.run()
            finally:
                with self._lock:
                    self._reactor = None
            if self._stopping or dashboard.restart_to is None:
                return
            backend = dashboard.restart_to

    def stop(self) -> None:
        """Stop serving (safe from any thread); `run()` then returns."""
        with self._lock:
            self._stopping = True
            reactor = self._reactor
        if reactor is not None:
            reactor.call_from_thread(reactor.stop)

    def _shown_host(self) -> str:
        host = self.config.host
        return "THIS-MACHINE" if host in ("", "0.0.0.0", "::") else host

    def instructor_link(self) -> str:
        """The page with the restart buttons, as the instructor opens it on this machine."""
        host = self.config.host
        own = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host
        return f"http://{own}:{self.config.port}/?admin={self.config.admin_token}"

    def banner(self) -> str:
        """Where to point students, and which file holds the admin link (safe to project)."""
        assert self.dashboard is not None
        host, shown = self.config.host, self._shown_host()
        where = self.token_file.path if self.token_file is not None else "(not written yet)"
        lines = [
            f"minireactor dashboard on the {self.dashboard.reactor.backend_name} backend",
            f"  chat:       nc {shown} {self.config.chat_port}",
            f"  dashboard:  http://{shown}:{self.config.port}/",
            f"  instructor: open the link in {where} (restart buttons; only you can read it)",
        ]
        if host in ("127.0.0.1", "localhost", "::1"):
            lines.append("  (only this machine can connect; use --host 0.0.0.0 for a classroom)")
        return "\n".join(lines)
