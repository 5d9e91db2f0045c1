"""A lab fetch `Report` as tracer events, so `minireactor.trace.timeline` can draw it.

So a notebook can draw "threads" or "processes" (from a report) and "event
loop" (from a trace) with one renderer, one above the other. This adapter
knows the lab's report shape, so it lives in the lab, not in `trace.py`.

Read next: `plots.py`.
"""

from __future__ import annotations

from typing import Any

from ..trace import Event


def events_from_report(report: Any) -> list[Event]:
    """A lab fetch `Report` as events, one lane per worker, for `trace.timeline`."""
    return [
        Event(
            "thread", r.url, r.start, r.end, str(r.worker), {"status": r.status, "bytes": r.nbytes}
        )
        for r in report.records
    ]
