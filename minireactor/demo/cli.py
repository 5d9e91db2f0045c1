"""Command line: `minireactor demo chat ...`, `... dashboard ...` and `... chat-gui ...`.

`add_subcommands(subparsers)` registers `demo` (with `chat` and `dashboard`
under it) on another program's argparse sub-parsers, as the `minireactor`
command does; each command sets `func`, which takes the parsed namespace and
returns an exit status. `main(argv)` is the same standalone:
`python -m minireactor.demo chat --port 8000`.

Read next: `chat.py` and `dashboard.py`, which these commands start.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from typing import Any

from ..backends import available_backends
from ..errors import MiniReactorError
from ..reactor import Reactor
from .chat import ChatLimits, ChatRoom, chat_factory
from .dashboard import DashboardConfig
from .dashboard_server import DashboardServer

__all__ = ["add_demo_commands", "add_subcommands", "main"]

_say = functools.partial(print, flush=True)  # flushed: tests and pipes read it at once


def add_subcommands(subparsers: Any) -> None:
    """Register `demo` (and `demo chat`, `demo dashboard`) on an `add_subparsers()` object."""
    demo = subparsers.add_parser(
        "demo",
        help="classroom demos: a chat server and a live dashboard of its loop",
        description="Classroom demos: a chat server students join with nc, and a web "
        "dashboard that shows the loop at work.",
    )
    add_demo_commands(demo.add_subparsers(dest="demo_command", required=True))


def add_demo_commands(subparsers: Any) -> None:
    """Register `chat` and `dashboard` on an `add_subparsers()` object."""
    chat = subparsers.add_parser(
        "chat",
        help="a chat server students join with nc or telnet",
        description="A chat server: students join with `nc HOST PORT` and type. "
        "Commands: /nick NAME, /who, /quit, /help.",
    )
    chat.add_argument("--port", type=int, default=8000, help="chat port (default 8000)")
    _add_common(chat)
    chat.set_defaults(func=run_chat)

    dash = subparsers.add_parser(
        "dashboard",
        help="the chat server plus a live web page about its loop",
        description="The chat server, plus a web page (same reactor) showing connections, "
        "messages/s, loop lag, the backend and a timeline of the loop, live. "
        "The instructor link (restart-on-backend buttons) goes to a file only you can read.",
    )
    dash.add_argument("--port", type=int, default=8001, help="web page port (default 8001)")
    dash.add_argument("--chat-port", type=int, default=8000, help="chat port (default 8000)")
    dash.add_argument(
        "--no-trace",
        dest="trace",
        action="store_false",
        help="do not record the loop (faster; the page shows no timeline)",
    )
    dash.add_argument("--admin-token", help="the secret for the restart buttons (default: random)")
    _add_common(dash)
    dash.set_defaults(func=run_dashboard)

    gui = subparsers.add_parser(
        "chat-gui",
        help="a Tk chat window for the chat server (--naive: the version that freezes)",
        description="A Tk chat window (messages, a line to type in, a nickname, the "
        "connection's status) on a reactor hosted on Tk's own loop. --naive opens the same "
        "window written with a blocking recv() in a Tk callback: it freezes while the room "
        "is quiet. Needs a display (DISPLAY), e.g. xvfb-run for a virtual one.",
    )
    gui.add_argument("--host", default="127.0.0.1", help="chat server (default 127.0.0.1)")
    gui.add_argument("--port", type=int, default=8000, help="chat port (default 8000)")
    gui.add_argument("--nick", default="", help="nickname to ask for once connected")
    gui.add_argument(
        "--naive", action="store_true", help="the blocking version, which freezes (for the lecture)"
    )
    gui.add_argument(
        "--mode",
        choices=["auto", "native", "interval"],
        default="auto",
        help="how the reactor rides on Tk: Tk watches the sockets (native, Unix) or a pass "
        "every 5 ms (interval, as on Windows)",
    )
    gui.set_defaults(func=run_chat_gui)


def _add_common(parser: argparse.ArgumentParser) -> None:
    defaults = ChatLimits()
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1: this machine only; "
        "0.0.0.0 lets a classroom in)",
    )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=["auto", *available_backends()],
        help="the reactor's backend (default: the best here)",
    )
    parser.add_argument(
        "--max-line",
        type=int,
        default=defaults.max_line,
        help=f"longest chat line in bytes (default {defaults.max_line})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=defaults.rate,
        help=f"lines per second per person (default {defaults.rate:g}); 0 turns flood "
        "control off, and then a few fast senders delay everyone by seconds: a lesson to "
        "show on purpose",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=defaults.burst,
        help=f"lines allowed at once before --rate applies (default {defaults.burst})",
    )
    parser.add_argument(
        "--max-clients",
        type=int,
        default=defaults.max_clients,
        help=f"chat connections at once (default {defaults.max_clients})",
    )


def _limits(args: argparse.Namespace) -> ChatLimits:
    return ChatLimits(
        max_line=args.max_line, rate=args.rate, burst=args.burst, max_clients=args.max_clients
    )


def run_chat(args: argparse.Namespace) -> int:
    """The `chat` command; returns the exit status."""
    try:
        reactor = Reactor(args.backend)
    except MiniReactorError as exc:
        print(f"minireactor demo chat: {exc}", file=sys.stderr)
        return 2
    room = ChatRoom(_limits(args))
    room.backend_name = reactor.backend_name
    try:
        port = reactor.listen_tcp(args.port, chat_factory(room, reactor), args.host)
    except (MiniReactorError, OSError) as exc:
        reactor.close()
        print(f"minireactor demo chat: {exc}", file=sys.stderr)
        return 1
    host, number = port.address
    _say(f"minireactor chat on the {reactor.backend_name} backend: nc {host} {number}")
    _say("Ctrl-C stops it.")
    try:
        reactor.run()
    except KeyboardInterrupt:
        _say("stopped")
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    """The `dashboard` command; returns the exit status."""
    config = DashboardConfig(
        host=args.host,
        port=args.port,
        chat_port=args.chat_port,
        backend=args.backend,
        trace=args.trace,
        limits=_limits(args),
    )
    if args.admin_token:
        config.admin_token = args.admin_token
    server = DashboardServer(config, out=_say)
    try:
        server.run()
    except KeyboardInterrupt:
        _say("stopped")
    except (MiniReactorError, OSError) as exc:
        print(f"minireactor demo dashboard: {exc}", file=sys.stderr)
        return 1
    return 0


def run_chat_gui(args: argparse.Namespace) -> int:
    """The `chat-gui` command; returns the exit status."""
    from ..backends.tk import tk_problem  # here: tkinter is needed by this command only

    problem = tk_problem()
    if problem is not None:
        print(f"minireactor demo chat-gui: {problem}", file=sys.stderr)
        return 2
    try:
        if args.naive:
            from .chat_gui_naive import run_naive_chat_gui

            return run_naive_chat_gui(args.host, args.port, args.nick)
        from .chat_gui import run_chat_gui as run_window

        return run_window(args.host, args.port, args.nick, args.mode)
    except (MiniReactorError, OSError) as exc:
        print(f"minireactor demo chat-gui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _say("stopped")
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m minireactor.demo chat|dashboard|chat-gui ...`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.demo")
    add_demo_commands(parser.add_subparsers(dest="demo_command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status
