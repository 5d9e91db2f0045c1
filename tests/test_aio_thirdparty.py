"""Real asyncio libraries on minireactor.aio: aiohttp (server and client) and httpx.

An aiohttp web server and an aiohttp client exchange 1,000 requests on every
evented backend; an httpx AsyncClient sends 1,000 more to the same kind of
server (on the default backend only: httpx spends ~3 ms of CPU per request
on any loop, so once is enough). Every body is checked. Nothing in either
library knows it is not on asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

import minireactor
import minireactor.aio

aiohttp = pytest.importorskip("aiohttp")
web = pytest.importorskip("aiohttp.web")
httpx = pytest.importorskip("httpx")

pytestmark = pytest.mark.timeout(90)
EVENTED = [b for b in minireactor.available_backends() if b != "threaded"]
REQUESTS = 1000


def expected_body(n: int) -> bytes:
    """A body that differs per request and is long enough to span several reads."""
    return hashlib.sha256(str(n).encode()).hexdigest().encode() * (1 + n % 50)


async def handle(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    body = await request.read()
    assert body == f"request {n}".encode()
    return web.Response(body=expected_body(n), headers={"X-N": str(n)})


async def start_app() -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/echo/{n}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def aiohttp_client(base: str, count: int) -> int:
    ok = 0
    connector = aiohttp.TCPConnector(limit=20)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            nonlocal ok
            async with session.post(f"{base}/echo/{n}", data=f"request {n}") as resp:
                body = await resp.read()
                if resp.status == 200 and body == expected_body(n):
                    ok += resp.headers["X-N"] == str(n)

        await asyncio.gather(*(one(n) for n in range(count)))
    return ok


async def httpx_client(base: str, count: int, concurrency: int = 5) -> int:
    ok = 0
    # Bounded by a semaphore: requests queued inside httpx's pool would hit
    # its 5 s pool timeout long before 1,000 of them are served.
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(n: int) -> None:
            nonlocal ok
            async with slots:
                resp = await client.post(f"{base}/echo/{n}", content=f"request {n}")
            ok += resp.status_code == 200 and resp.content == expected_body(n)

        await asyncio.gather(*(one(n) for n in range(count)))
    return ok


def run_against_app(backend: str, client: Any) -> tuple[str, int]:
    async def main() -> tuple[str, int]:
        runner, base = await start_app()
        try:
            answered = await client(base, REQUESTS)
        finally:
            await runner.cleanup()
        return type(asyncio.get_running_loop()).__name__, answered

    with asyncio.Runner(loop_factory=lambda: minireactor.aio.new_event_loop(backend)) as r:
        return r.run(main())


@pytest.mark.parametrize("backend", EVENTED)
def test_aiohttp_server_and_client_exchange_1000_requests(backend: str) -> None:
    assert run_against_app(backend, aiohttp_client) == ("MiniReactorEventLoop", REQUESTS)


def test_httpx_client_against_the_aiohttp_server() -> None:
    assert run_against_app("auto", httpx_client) == ("MiniReactorEventLoop", REQUESTS)
