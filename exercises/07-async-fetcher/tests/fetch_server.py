"""A small local HTTP server for the fetcher tests: seeded delays, errors, counters.

Paths: /item/N (200 after a short seeded delay), /slow/N (answers after 3 s),
/flaky/N/K (503 for the first K attempts, then 200), /missing/N (404). The
server records attempts per path, the order in which requests arrived and
the peak number of requests in flight, which is how the tests check
concurrency: server-side, never by timing.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FetchServer:
    """Start with `with FetchServer() as server:`; URLs via `server.url(path)`."""

    def __init__(self, seed: int = 7) -> None:
        self.attempts: Counter[str] = Counter()
        self.order: list[str] = []  # request paths, in the order they arrived
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._seed = seed
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output quiet

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FetchServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        with self._lock:
            self.attempts[path] += 1
            self.order.append(path)
            attempt = self.attempts[path]
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            status, body = self._answer(path, attempt)
        finally:
            with self._lock:
                self.in_flight -= 1
        request.send_response(status)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _answer(self, path: str, attempt: int) -> tuple[int, bytes]:
        parts = path.strip("/").split("/")
        rng = random.Random(f"{self._seed}:{path}")
        if parts[0] == "item":
            time.sleep(0.05 + rng.random() * 0.05)
            return 200, f"item {parts[1]}".encode()
        if parts[0] == "slow":
            time.sleep(3)
            return 200, b"too late"
        if parts[0] == "flaky":
            time.sleep(0.01)
            if attempt <= int(parts[2]):
                return 503, b"try again"
            return 200, f"flaky {parts[1]}".encode()
        return 404, b"not found"
