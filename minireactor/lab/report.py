"""What a fetch run produced: one `Record` per URL, gathered in a `Report`.

Every strategy, from a plain loop to a dask cluster, returns the same
`Report`, so they can be compared row by row. A record keeps the times a
request started and ended (`time.monotonic()`, which is system-wide: the
server's and the workers' clocks agree) and which worker did it; that is
enough to draw the timeline of a run and to see how many requests really
overlapped.

Errors are recorded, never raised, and `classify` names them in one word
("timeout", "reset", "refused", "http 500") whatever library produced them,
so a urllib run and an aiohttp run can be compared error by error.

Read next: `fetch.py`, which fills these in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Record", "Report", "classify", "format_explained", "format_table"]


@dataclass
class Record:
    """One URL fetched (or not).

    Attributes:
        url: what was fetched.
        status: the HTTP status, or None when no response arrived.
        nbytes: body length received.
        start, end: `time.monotonic()` when the request began and finished.
        worker: who did it (thread name, process id, task slot).
        error: None, or one word from `classify` ("http 500", "timeout", ...).
        digest: the first 16 hex digits of the body's SHA-256 (to check bodies).
    """

    url: str
    status: int | None
    nbytes: int
    start: float
    end: float
    worker: str
    error: str | None = None
    digest: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def duration(self) -> float:
        return self.end - self.start


def classify(exc: BaseException) -> str:
    """Name an exception from any HTTP library in one word the lab can compare."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if isinstance(current, TimeoutError) or "Timeout" in name:
            return "timeout"
        if isinstance(current, ConnectionRefusedError):
            return "refused"
        if isinstance(current, ConnectionResetError | BrokenPipeError) or name in (
            "RemoteDisconnected",
            "ServerDisconnectedError",
            "IncompleteRead",
        ):
            return "reset"
        if "Connection reset" in str(current) or "[Errno 104]" in str(current):
            return "reset"  # aiohttp wraps the OSError in its own types
        reason = getattr(current, "reason", None)  # urllib's URLError wraps the cause
        current = reason if isinstance(reason, BaseException) else current.__cause__
    return f"{type(exc).__name__}: {exc}"[:200]


@dataclass
class Report:
    """The result of one `fetch_all` run.

    Attributes:
        strategy: which strategy ran.
        concurrency: its limit on simultaneous requests.
        records: one per URL, in the order of the URLs given.
        wall: seconds from start to finish (including pool start-up).
        start: `time.monotonic()` at the start (timelines are drawn from here).
        bodies: url -> body, when asked for with `keep_bodies=True`.
        server: the local internet's statistics for this run, when known.
    """

    strategy: str
    concurrency: int
    records: list[Record]
    wall: float
    start: float
    bodies: dict[str, bytes] | None = None
    server: dict[str, Any] | None = field(default=None)

    @property
    def ok(self) -> int:
        return sum(r.ok for r in self.records)

    @property
    def failed(self) -> int:
        return len(self.records) - self.ok

    @property
    def errors(self) -> dict[str, str]:
        """url -> error word, for every URL that failed."""
        return {r.url: r.error or f"http {r.status}" for r in self.records if not r.ok}

    def failure_counts(self) -> dict[str, int]:
        """Error word -> how many URLs failed that way, e.g. {"http 500": 2, "timeout": 1}.

        Two runs met the same failures when these are equal; a strategy that
        blocks its loop shows extra "timeout"s here (its reads came too late).
        """
        counts: dict[str, int] = {}
        for word in self.errors.values():
            counts[word] = counts.get(word, 0) + 1
        return dict(sorted(counts.items()))

    def peak_concurrency(self) -> int:
        """The most requests in progress at once, as seen by the client."""
        events = sorted([(r.start, 1) for r in self.records] + [(r.end, -1) for r in self.records])
        peak = level = 0
        for _, step in events:
            level += step
            peak = max(peak, level)
        return peak

    def summary(self) -> dict[str, Any]:
        """One row: strategy, concurrency, ok, failed, wall, peak_in_flight (server's, or ours)."""
        peak = (self.server or {}).get("peak_in_flight", self.peak_concurrency())
        return {
            "strategy": self.strategy,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "failed": self.failed,
            "wall": round(self.wall, 3),
            "peak_in_flight": peak,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One dict per record (times relative to the run's start), for a table."""
        rows = []
        for r in self.records:
            row = asdict(r)
            row["start"] = r.start - self.start
            row["end"] = r.end - self.start
            rows.append(row)
        return rows

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas, which the lab does not require)."""
        try:
            import pandas  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            from .procs import MissingDependency

            raise MissingDependency(
                "to_pandas() needs pandas (pip install pandas); rows() gives the same data"
            ) from None
        return pandas.DataFrame(self.rows())

    def __repr__(self) -> str:
        return (
            f"<Report {self.strategy} x{self.concurrency}: {self.ok} ok, {self.failed} failed, "
            f"{self.wall:.2f} s>"
        )


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of dicts that share their keys (for the command line)."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    cells = [[_cell(row.get(k)) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = "  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def format_explained(rows: list[dict[str, Any]]) -> str:
    """`format_table` of load summaries, then each run's explanation on a line of its own.

    `LoadResult.summary()` carries "explanation": what the numbers mean (that
    starved connections were never served, not answered wrongly). As a column
    it would make the table unreadably wide.
    """
    lines = [format_table([{k: v for k, v in row.items() if k != "explanation"} for row in rows])]
    for row in rows:
        if row.get("explanation"):
            name = row.get("label") or row.get("model") or ""
            lines.append(f"  {name + ': ' if name and len(rows) > 1 else ''}{row['explanation']}")
    return "\n".join(lines)
