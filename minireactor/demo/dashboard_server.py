"""The dashboard's server: run the dashboard, and again on another backend when asked.

`Dashboard` (`dashboard.py`) is one reactor's worth of chat and web page.
A backend is chosen when a reactor is created and a reactor cannot be run
twice, so a restart on another backend means a new reactor: `DashboardServer`
is the loop around that, keeping the chat room and the timeline across
restarts. It also writes the instructor's link (with the admin token) to a
file only its owner can read (`private_file.py`) and never to the terminal,
which may be on the projector.

Read next: `cli.py` (the `minireactor demo dashboard` command).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..reactor import Reactor
from .chat import ChatRoom
from .dashboard import Dashboard, DashboardConfig
from .meters import Timeline
from .private_file import PrivateFile

__all__ = ["DashboardServer"]


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
