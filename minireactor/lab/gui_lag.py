"""The frozen window, measured: how late does Tk's own loop run?

A window is "frozen" when its event loop cannot run: Tk cannot repaint,
nor handle a click, while one of its callbacks blocks. So the probe asks Tk
to run a tiny callback every `period` (10 ms) and records how late each one
fires: its *tick lag*. A healthy GUI loop shows a millisecond or two; a
blocked one shows the blocking time itself.

`measure(client)` runs one of the three chat clients of `minireactor.demo`
against `SlowTalker`, a chat-like server (on its own thread and reactor)
that says one line every `every` seconds, while the probe ticks:

* "naive": a blocking `recv()` in a Tk callback (`chat_gui_naive.py`);
* "hosted": the reactor hosted on Tk's loop (`chat_gui.py`);
* "thread": a reactor on a worker thread, lines handed to Tk (`chat_gui_threaded.py`).

`interval_cost()` prices the tk backend's two routes (native, interval):
idle CPU, and the latency an echo round trip gains. `plot_lag(runs)` draws
the tick lags. Everything needs a display: see `display.py`; every window
here is made and freed by `tk_root.py`, so a reactor thread beside it
cannot free it (which would abort the process).

Read next: `../../notebooks/11-gui-event-loops.ipynb`, which runs these.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..backends.tk import TkBackend
from ..backends.tk_host import mainloop
from ..protocol import Factory, Protocol
from ..reactor import Reactor
from .plots import _axes
from .tk_root import with_tk_root

__all__ = [
    "CLIENTS",
    "LagRun",
    "SlowTalker",
    "WindowRun",
    "drive_window",
    "interval_cost",
    "measure",
    "plot_lag",
]

CLIENTS = ("naive", "hosted", "thread")


@dataclass
class LagRun:
    """One probe run: how late each of Tk's ticks fired, and what the window received."""

    client: str
    lags: list[float] = field(default_factory=list)  # seconds late, one per tick
    received: int = 0  # lines the server sent that the window shows

    @property
    def worst(self) -> float:
        return max(self.lags, default=0.0)

    @property
    def frozen(self) -> float:
        """Seconds the loop was late in all: time the window could not react."""
        return sum(self.lags)

    def __str__(self) -> str:
        return (
            f"{self.client:>6}: {len(self.lags):4d} ticks, worst lag {self.worst * 1000:6.1f} ms, "
            f"late {self.frozen:5.2f} s in all, {self.received} lines shown"
        )


class _Talk(Protocol):
    def __init__(self, talker: SlowTalker) -> None:
        self.talker = talker
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.talker.reactor.call_later(self.talker.every, self.say, 1)

    def data_received(self, data: bytes) -> None:
        self.talker.heard += data

    def say(self, n: int) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"<talker> line %d\r\n" % n)
            self.talker.reactor.call_later(self.talker.every, self.say, n + 1)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.transport = None


class SlowTalker:
    """A chat-like server on its own thread that says one line every `every` seconds.

    Use as a context manager; `address` is where to connect, and `heard` the
    bytes clients sent it.
    """

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.heard = bytearray()
        self.reactor = Reactor()
        port = self.reactor.listen_tcp(0, Factory.for_protocol(_Talk, self), "127.0.0.1")
        self.address: tuple[str, int] = port.address
        self._thread = threading.Thread(target=self.reactor.run, name="slow-talker", daemon=True)

    def __enter__(self) -> SlowTalker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.reactor.call_from_thread(self.reactor.stop)
        self._thread.join(10)


def _tick_probe(root: Any, period: float, lags: list[float], warmup: float) -> Callable[[], None]:
    """Ask Tk for a callback every `period`; record how late each one comes.

    Ticks in the first `warmup` seconds (the window opening) are not kept.
    Returns a function that stops the probe.
    """
    ms = max(1, round(period * 1000))
    begin = time.monotonic() + warmup
    expected = [time.monotonic() + ms / 1000]
    pending = [""]

    def tick() -> None:
        now = time.monotonic()
        if now >= begin:
            lags.append(max(0.0, now - expected[0]))
        expected[0] = now + ms / 1000
        pending[0] = root.after(ms, tick)

    def stop() -> None:
        root.after_cancel(pending[0])

    pending[0] = root.after(ms, tick)
    return stop


def measure(client: str, duration: float = 2.0, every: float = 0.2, period: float = 0.01) -> LagRun:
    """Tick lag of Tk's loop while `client` ("naive", "hosted", "thread") chats with a `SlowTalker`.

    The probe runs `duration` seconds after a 0.2 s warm-up (the window opening).

    Raises:
        ValueError: an unknown client name.
    """
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}; choose one of {CLIENTS}")
    run = LagRun(client)
    with SlowTalker(every) as talker:

        def probe(root: Any) -> int:
            window = _run_client(client, root, talker.address, duration, period, run.lags)
            return sum("<talker>" in line for line in window.lines())

        run.received = with_tk_root(probe)
    return run


def _run_client(
    client: str,
    root: Any,
    address: tuple[str, int],
    duration: float,
    period: float,
    lags: list[float],
) -> Any:
    """Open `client`'s window on `root`, probe for `duration` seconds; returns its ChatWindow."""
    from ..demo.chat_gui import open_chat_window
    from ..demo.chat_gui_naive import NaiveChatClient
    from ..demo.chat_gui_threaded import ThreadedChatClient

    host, port = address
    stop_probe = _tick_probe(root, period, lags, warmup=0.2)
    ms = round((duration + 0.2) * 1000)
    if client == "hosted":
        hosted = open_chat_window(root, host, port)
        root.after(ms, hosted.reactor.stop)
        mainloop(hosted.reactor)
        stop_probe()
        return hosted.window
    other: NaiveChatClient | ThreadedChatClient
    other = (
        NaiveChatClient(root, host, port)
        if client == "naive"
        else ThreadedChatClient(root, host, port)
    )
    root.after(ms, root.quit)
    try:
        root.mainloop()
    finally:
        stop_probe()
        other.close()
    return other.window


@dataclass
class WindowRun:
    """What `drive_window` saw: the window's lines, Tk's tick lags, what the server heard."""

    lines: list[str]
    lags: list[float]
    heard: bytes

    @property
    def worst(self) -> float:
        return max(self.lags, default=0.0)

    @property
    def frozen(self) -> float:
        """Seconds Tk's loop spent late in all: about how long the window was frozen."""
        return sum(self.lags)


def drive_window(
    make: Callable[[Any, str, int], Any],
    seconds: float,
    every: float,
    actions: dict[float, Callable[[Any], object]] | None = None,
) -> WindowRun:
    """Run a chat window made by `make(root, host, port)` against a `SlowTalker`, probing Tk.

    Tk's own `mainloop()` runs for `seconds` (after a 0.2 s warm-up); at each
    time `t` of `actions`, `actions[t](app)` runs on Tk's thread. The window
    must show the server's lines in `app.messages` (a Listbox); `app.close()`
    is called at the end. Exercise 11's tests are built on this.
    """
    lags: list[float] = []
    with SlowTalker(every) as talker:

        def run_window(root: Any) -> list[str]:
            app = make(root, *talker.address)
            stop_probe = _tick_probe(root, 0.01, lags, warmup=0.2)
            for at, action in (actions or {}).items():
                root.after(round((0.2 + at) * 1000), action, app)
            root.after(round((0.2 + seconds) * 1000), root.quit)
            root.mainloop()
            stop_probe()
            lines = [str(item) for item in app.messages.get(0, "end")]
            app.close()
            return lines

        lines = with_tk_root(run_window)
        heard = bytes(talker.heard)
    return WindowRun(lines, lags, heard)


def interval_cost(
    interval: float = 0.005, idle: float = 1.0, round_trips: int = 200
) -> dict[str, dict[str, float]]:
    """What each route of the tk backend costs: idle CPU and echo round-trip time.

    For "native" and "interval" (every `interval` s): the CPU this process
    spends in `idle` seconds of a hosted reactor with nothing to do (as a
    fraction of one core), and the median round trip of `round_trips`
    one-byte echoes from a client thread to a server hosted on Tk.
    """
    return {mode: _cost_of(mode, interval, idle, round_trips) for mode in ("native", "interval")}


def _cost_of(mode: str, interval: float, idle: float, round_trips: int) -> dict[str, float]:
    reactor = Reactor(backend=TkBackend(mode=mode, interval=interval))
    port = reactor.listen_tcp(0, Factory.for_protocol(_EchoBack), "127.0.0.1")
    result: dict[str, float] = {}
    times: list[float] = []

    def client() -> None:
        with socket.create_connection(port.address, timeout=10) as sock:
            for _ in range(round_trips):
                start = time.perf_counter()
                sock.sendall(b"x")
                sock.recv(1)
                times.append(time.perf_counter() - start)
        reactor.call_from_thread(reactor.stop)

    def start_idle_probe() -> None:
        cpu, wall = time.process_time(), time.monotonic()

        def done() -> None:
            result["idle_cpu"] = (time.process_time() - cpu) / (time.monotonic() - wall)
            threading.Thread(target=client, daemon=True).start()

        reactor.call_later(idle, done)

    reactor.call_when_running(start_idle_probe)
    mainloop(reactor)
    result["echo_rtt_ms"] = statistics.median(times) * 1000 if times else float("nan")
    return result


class _EchoBack(Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def plot_lag(runs: Iterable[LagRun], ax: Any = None) -> Any:
    """Tick lag over the run, one line per client (log scale: 1 ms and 200 ms both show)."""
    fig, ax = _axes(ax)
    for run in runs:
        ax.plot(
            [lag * 1000 + 0.1 for lag in run.lags],
            label=f"{run.client} (worst {run.worst * 1000:.0f} ms)",
        )
    ax.set_yscale("log")
    ax.set_xlabel("tick (one asked for every 10 ms)")
    ax.set_ylabel("how late Tk ran it (ms, +0.1)")
    ax.set_title("A frozen window, measured: lag of Tk's own timer")
    ax.legend()
    return fig


def describe(runs: Iterable[LagRun], say: Callable[[str], None] = print) -> None:
    """Print one line per run."""
    for run in runs:
        say(str(run))
