"""Internet in a box: a local HTTP/1.1 server that plays "the internet", reproducibly.

`internet(seed=1, latency=0.1, error_rate=0.1)` starts a server on loopback
whose pages (`/site/0`, `/site/1`, ...) answer slowly, fail sometimes, and
link to each other, all decided by `pages.py` from the seed and the path.
Every fetch strategy in the lab runs against it, so runs are comparable and
repeatable, unlike the real internet. This file is the parent's side: that
function, the `Internet` handle it yields, and the command line (`main`);
the server itself is in `internet_server.py`.

It runs in its own **subprocess** (`python -m minireactor.lab internet`).
In a thread, it would share the GIL with the code being measured: a
thread-pool fetcher with 100 threads would slow the server down and we
would measure ourselves. A process has its own interpreter and, on a
multi-core machine, its own CPU. The monotonic clock is system-wide, so
server and client timestamps can be compared directly. The subprocess
stops when its stdin closes, so it never outlives the program that started it.

Read next: `internet_server.py`, the server in the child; then `fetch.py`,
the strategies that download from it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The server classes moved to internet_server.py; re-exported so that
# `from minireactor.lab.internet import serve_forever` (and the rest) still works.
from .internet_server import Exchange as Exchange
from .internet_server import Site as Site
from .internet_server import SiteProtocol as SiteProtocol
from .internet_server import Throttle as Throttle
from .internet_server import serve_forever as serve_forever
from .pages import SiteConfig, fate, page_body, page_number
from .procs import Child, LabError, start_child

__all__ = ["Internet", "internet", "serve_forever"]


class Internet:
    """A handle on a running local internet (see `internet()`)."""

    def __init__(self, base_url: str, config: SiteConfig, child: Child | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = config
        self._child = child

    @classmethod
    def attach(cls, base_url: str, timeout: float = 5.0) -> Internet:
        """A handle on a local internet someone else started (reads its /_config)."""
        try:
            data = _get_json(base_url.rstrip("/") + "/_config", timeout)
        except (OSError, ValueError) as exc:
            raise LabError(
                f"no local internet answers at {base_url} ({exc}); start one with: "
                f"minireactor internet"
            ) from None
        data["errors"] = tuple(data["errors"])
        return cls(base_url, SiteConfig(**data))

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.base_url.split("//", 1)[1].rpartition(":")
        return host, int(port)

    def urls(self, n: int, start: int = 0) -> list[str]:
        """`n` distinct page URLs: /site/start ... /site/start+n-1."""
        return [f"{self.base_url}/site/{i}" for i in range(start, start + n)]

    def fate(self, url: str) -> Any:
        """What the server will do with `url` (a `pages.Fate`), without asking it."""
        return fate(self.config, "/" + url.split("//", 1)[-1].split("/", 1)[-1])

    def body(self, url: str) -> bytes:
        """The body a successful fetch of `url` returns."""
        number = page_number("/" + url.split("//", 1)[-1].split("/", 1)[-1])
        if number is None:
            raise ValueError(f"{url} is not a page of this internet (/site/N)")
        return page_body(self.config, number)

    def stats(self) -> dict[str, Any]:
        """Server-side counts: served, requests, in_flight, peak_in_flight, outcomes."""
        return dict(_get_json(self.base_url + "/_stats"))

    def log(self) -> list[Exchange]:
        """Every request since the last reset, with server-side start and end times."""
        rows = _get_json(self.base_url + "/_log")
        return [Exchange(path, start, end, outcome) for path, start, end, outcome in rows]

    def reset(self) -> None:
        """Zero the statistics (between runs)."""
        _get_json(self.base_url + "/_reset")

    def __repr__(self) -> str:
        return f"<Internet {self.base_url} {self.config}>"


def _get_json(url: str, timeout: float = 10.0) -> Any:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return json.loads(response.read())


def _cli_args(config: SiteConfig, host: str, port: int, backend: str) -> list[str]:
    args = ["--host", host, "--port", str(port), "--backend", backend]
    for key, value in config.to_dict().items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        args += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    return args


@contextmanager
def internet(
    seed: int = 1,
    latency: float | str = 0.1,
    error_rate: float = 0.0,
    size: int = 2048,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    bandwidth: float | None = None,
    errors: tuple[str, ...] | list[str] | str = ("500", "reset", "timeout"),
    sites: int = 1000,
    links: int = 5,
    backend: str = "auto",
) -> Iterator[Internet]:
    """Start a local internet in a subprocess; stop it on leaving the block.

    Example::

        with internet(seed=1, latency="exp:0.1", error_rate=0.1) as net:
            report = fetch_all(net.urls(100), strategy="asyncio")

    Raises:
        ValueError: a bad setting (the message says which and why).
        LabError: the server could not start (for example, the port is taken).
    """
    if isinstance(errors, str):
        errors = tuple(e for e in errors.split(",") if e)
    config = SiteConfig(seed, latency, error_rate, tuple(errors), size, bandwidth, sites, links)
    argv = [
        sys.executable,
        "-m",
        "minireactor.lab",
        "internet",
        *_cli_args(config, host, port, backend),
    ]
    with start_child(argv, "local internet") as child:
        yield Internet(f"http://{child.address[0]}:{child.address[1]}", config, child)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `minireactor internet` (also used by the subprocess)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: pick a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency", default="0.1", help="seconds, or uniform:A:B, exp:M, pareto:S:A"
    )
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--errors", default="500,reset,timeout", help="kinds of failure to mix")
    parser.add_argument("--size", type=int, default=2048, help="page size in bytes, exactly")
    parser.add_argument("--bandwidth", type=float, default=None, help="bytes/s per response")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--links", type=int, default=5)
    parser.add_argument("--backend", default="auto")


def config_from_args(args: argparse.Namespace) -> SiteConfig:
    latency: float | str = args.latency
    with contextlib.suppress(ValueError):  # not a number: a spec that SiteConfig checks
        latency = float(args.latency)
    errors = tuple(e for e in str(args.errors).split(",") if e)
    return SiteConfig(
        args.seed,
        latency,
        args.error_rate,
        errors,
        args.size,
        args.bandwidth,
        args.sites,
        args.links,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the subprocess started by `internet()`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.lab internet")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)

        def announce(address: tuple[str, int]) -> None:
            print(f"READY {address[0]} {address[1]}", flush=True)

        serve_forever(config, args.host, args.port, args.backend, announce, watch_stdin=True)
    except (OSError, ValueError) as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
