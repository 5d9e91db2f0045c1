"""What a load run returns: `LoadResult`, and the percentile its summary uses.

Every way of running the load generator fills one of these: the Python
generator (`load_python.py`), the C client (`load_native.py`), and the
parent that merges one result per generator process (`load.py`). It sits
below all three and imports nothing from the lab, so each of them can
import it without a cycle. `summary()` is one table row: what
`minireactor load` prints and what `compare.py` collects for its plots.

Read next: `load.py`, the `load()` function that returns these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoadResult", "percentile"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, nearest rank; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class LoadResult:
    """What a load run measured.

    Attributes:
        requests: responses received and verified correct.
        errors: wrong responses, refused or broken connections: something broke.
        timeouts: requests with no answer within the timeout.
        starved: connections (not requests) that completed nothing in the whole
            run: the server never got to them. Not an error: a server that
            serves a bounded number of connections at a time (iterative,
            thread_pool, prefork) leaves the rest waiting, which is its lesson.
        unsent: open loop only: requests still waiting for a connection at the end.
        latencies: seconds, one per verified response (open loop: from when it was due).
        error_samples: the first few error messages, to see what went wrong.
        engine: which generator ran: "python" or "c" (see `load`'s `engine`).
    """

    protocol: str
    clients: int
    duration: float
    rate: float | None = None
    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    starved: int = 0
    unsent: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    error_samples: list[str] = field(default_factory=list)
    engine: str = "python"

    @property
    def throughput(self) -> float:
        """Verified responses per second."""
        return self.requests / self.duration if self.duration > 0 else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p90(self) -> float:
        return percentile(self.latencies, 90)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def max(self) -> float:
        return max(self.latencies, default=math.nan)

    def summary(self) -> dict[str, Any]:
        """One row: throughput, latency percentiles in milliseconds, error counts."""
        return {
            "clients": self.clients,
            "rate": self.rate,
            "requests": self.requests,
            "throughput": round(self.throughput, 1),
            "p50_ms": round(self.p50 * 1000, 2),
            "p90_ms": round(self.p90 * 1000, 2),
            "p99_ms": round(self.p99 * 1000, 2),
            "max_ms": round(self.max * 1000, 2),
            "errors": self.errors,
            "timeouts": self.timeouts,
            "starved": self.starved,
            "engine": self.engine,
            "explanation": self.explain(),
        }

    def explain(self) -> str:
        """One sentence naming what went wrong, if anything (empty when all went well)."""
        parts = []
        if self.starved:
            noun = "connection" if self.clients == 1 else "connections"
            verb, who = ("was", "it") if self.starved == 1 else ("were", "they")
            parts.append(
                f"{self.starved} of {self.clients} {noun} {verb} never served during the "
                f"{self.duration:.3g} s run: {who} waited while the server was busy with others "
                "(starved, not a wrong answer)"
            )
        if self.errors:
            sample = f" (first: {self.error_samples[0]})" if self.error_samples else ""
            parts.append(
                f"{self.errors} requests failed (wrong answer or broken connection){sample}"
            )
        if self.timeouts:
            parts.append(f"{self.timeouts} requests got no answer within the timeout")
        if self.unsent:
            parts.append(f"{self.unsent} requests fell due but never found a free connection")
        return "; ".join(parts) + ("." if parts else "")

    def merge(self, other: LoadResult) -> None:
        """Add another process's counts and latencies to these."""
        self.clients += other.clients
        self.rate = None if self.rate is None else self.rate + (other.rate or 0)
        self.requests += other.requests
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.starved += other.starved
        self.unsent += other.unsent
        self.latencies += other.latencies
        self.error_samples = (self.error_samples + other.error_samples)[:5]
