"""The catalogue of echo servers the benchmark compares.

Each entry names a server ("asyncio-protocol", "minireactor-epoll", ...) and
the command that starts it; every command takes ``--port`` and prints
``READY <port>`` (see `common.py`). Peers that are not installed here
(uvloop, Twisted) or not ready yet (minireactor before its reactor lands)
are listed with the reason they are skipped, so a run always says what it
left out.

Read next: `common.py`, then any server module.
"""

from __future__ import annotations

import importlib.util
import select
import sys
from dataclasses import dataclass, field

from benchmarks.build import BIN_DIR

# The peer every ratio in the report is taken against.
BASELINE = "asyncio-protocol"


@dataclass(frozen=True)
class ServerSpec:
    """One server the harness can start.

    Attributes:
        name: the id used by --servers and in the report.
        argv: the command, without --port (the harness appends it).
        about: one line saying what the server is.
        skip_reason: why it cannot run here, or None when it can.
    """

    name: str
    argv: list[str] = field(default_factory=list)
    about: str = ""
    skip_reason: str | None = None


def _python_server(module: str, *options: str) -> list[str]:
    return [sys.executable, "-m", f"benchmarks.servers.{module}", *options]


def _missing(module: str, extra: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (pip install -e '.[{extra}]')"
    return None


def _aio_missing() -> str | None:
    """Why minireactor.aio cannot run here, or None."""
    try:
        import minireactor.aio  # noqa: F401
    except ImportError as exc:
        return f"minireactor.aio cannot be imported ({exc})"
    return None


def _minireactor_servers() -> list[ServerSpec]:
    """One server per minireactor backend available on this machine."""
    try:
        import minireactor

        backends = list(minireactor.available_backends())
    except (ImportError, AttributeError) as exc:
        reason = f"minireactor cannot be imported yet ({exc})"
        return [ServerSpec("minireactor", about="minireactor", skip_reason=reason)]
    specs = []
    for backend in backends:
        # The asyncio backend hosts minireactor on a running asyncio loop; a
        # standalone server would need that loop started first, which the
        # plain echo server does not do.
        skip = "needs a host asyncio loop; not benchmarked" if backend == "asyncio" else None
        argv = _python_server("minireactor_echo", "--backend", backend)
        specs.append(ServerSpec(f"minireactor-{backend}", argv, f"minireactor, {backend}", skip))
    return specs


def catalog() -> list[ServerSpec]:
    """Every server the benchmark knows, in report order, with skip reasons."""
    no_epoll = None if hasattr(select, "epoll") else "needs epoll (Linux)"
    return [
        ServerSpec("c-epoll", [str(BIN_DIR / "echo_server")], "C, epoll, one thread", no_epoll),
        ServerSpec(
            "asyncio-protocol",
            _python_server("asyncio_echo", "--backend", "asyncio", "--style", "protocol"),
            "asyncio, Protocol API, standard loop",
        ),
        ServerSpec(
            "asyncio64k-protocol",
            _python_server(
                "asyncio_echo",
                "--backend",
                "asyncio",
                "--style",
                "protocol",
                "--read-size",
                "65536",
            ),
            "asyncio, Protocol API, with 64 KiB reads as minireactor uses",
        ),
        ServerSpec(
            "asyncio-streams",
            _python_server("asyncio_echo", "--backend", "asyncio", "--style", "streams"),
            "asyncio, streams API (start_server), standard loop",
        ),
        ServerSpec(
            "asyncio64k-streams",
            _python_server(
                "asyncio_echo",
                "--backend",
                "asyncio",
                "--style",
                "streams",
                "--read-size",
                "65536",
            ),
            "asyncio, streams API, with 64 KiB reads as minireactor uses",
        ),
        ServerSpec(
            "uvloop-protocol",
            _python_server("asyncio_echo", "--backend", "uvloop", "--style", "protocol"),
            "uvloop, Protocol API",
            _missing("uvloop", "peers"),
        ),
        ServerSpec(
            "uvloop-streams",
            _python_server("asyncio_echo", "--backend", "uvloop", "--style", "streams"),
            "uvloop, streams API",
            _missing("uvloop", "peers"),
        ),
        ServerSpec(
            "minireactor.aio-protocol",
            _python_server("asyncio_echo", "--backend", "minireactor.aio", "--style", "protocol"),
            "asyncio on minireactor (minireactor.aio), Protocol API",
            _aio_missing(),
        ),
        ServerSpec(
            "minireactor.aio-streams",
            _python_server("asyncio_echo", "--backend", "minireactor.aio", "--style", "streams"),
            "asyncio on minireactor (minireactor.aio), streams API",
            _aio_missing(),
        ),
        ServerSpec(
            "twisted-epoll",
            _python_server("twisted_echo", "--backend", "epoll"),
            "Twisted, epoll reactor",
            _missing("twisted", "peers") or no_epoll,
        ),
        ServerSpec(
            "threads", _python_server("threads_echo"), "one thread per connection, blocking"
        ),
        *_minireactor_servers(),
    ]
