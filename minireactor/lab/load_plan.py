"""What a load run asks for: `LoadPlan`, written once for every engine.

`load()` checks its arguments and makes one `LoadPlan`; from then on the
plan is what travels. The Python generator (`load_python.py`) and the C
client (`load_native.py`) each take one, and the multi-process path in
`load.py` splits it with `share` (each process its clients and its part
of the rate) and hands each generator process its share as JSON
(`to_json`, read back by `from_json`), the way the process hands back its
`LoadResult`. Like `load_result.py`, this file imports nothing from the
lab, so every engine can import it without a cycle.

Read next: `load_python.py`, the generator that runs a plan.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

__all__ = ["LoadPlan"]


@dataclass(frozen=True)
class LoadPlan:
    """One load, as `load()` was asked for it (after its checks).

    The fields are named as `load()`'s parameters and mean the same, so
    `load(**asdict(plan))` asks for this load again. How it is run (engine,
    processes, CPU pinning, idle connections) is not part of the plan.

    Attributes:
        address: (host, port) of the server.
        protocol: "http" or "echo".
        clients: connections (closed loop: also the requests in flight).
        duration: seconds of load.
        rate: requests per second for an open loop; None for a closed loop.
        path: the URL path an "http" load asks for.
        size: bytes per message of an "echo" load.
        timeout: seconds before an unanswered request counts as a timeout.
        keepalive: reuse connections (False: one connection per request).
    """

    address: tuple[str, int]
    protocol: str
    clients: int
    duration: float
    rate: float | None
    path: str
    size: int
    timeout: float
    keepalive: bool

    def share(self, i: int, n: int) -> LoadPlan:
        """Process `i`'s part (0 <= i < n) of this load spread over `n` processes.

        The clients are dealt out as evenly as they go (the first
        `clients % n` processes get one more); an open loop's rate is split
        in n equal parts. Everything else is the same in every share.
        """
        clients = self.clients // n + (i < self.clients % n)
        rate = None if self.rate is None else self.rate / n
        return replace(self, clients=clients, rate=rate)

    def to_json(self) -> str:
        """This plan as one line of JSON: a generator process's command-line argument."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadPlan:
        """The plan `to_json` wrote (JSON has no tuples: the address comes back a list)."""
        data = json.loads(text)
        host, port = data.pop("address")
        return cls(address=(host, port), **data)
