"""Two classic exercises on top of `fetch_all`: a link pipeline and a bounded crawler.

`pipeline(urls, "links.tsv")` is the asyncio walkthrough's shape (fetch each
page, extract its hrefs, write "page<TAB>link" lines to a file), runnable
with any strategy: the fetching is concurrent, the parsing and writing are
done as results arrive.

`crawl(start_url, strategy=..., max_pages=..., concurrency=...)` follows
links from a start page, fetching each page at most once, until it has
fetched `max_pages` pages or found nothing new. It goes breadth first, one
*wave* per link depth: every page of a wave is fetched concurrently with the
chosen strategy, then the new links found become the next wave. Waves make
every strategy crawl the same way; their cost is that a wave waits for its
slowest page. A crawler with one shared queue (the 500 Lines crawler) keeps
all workers busy instead: a good exercise.

Read next: `servers.py`, the other half of the lab (serving instead of fetching).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .fetch import fetch_all
from .pages import extract_links
from .report import Record, Report

__all__ = ["CrawlResult", "crawl", "pipeline"]


@dataclass
class CrawlResult:
    """What a crawl found.

    Attributes:
        links: page URL -> the links found on it, for each page fetched successfully.
        records: one per page fetched, in the order of the waves.
        waves: how many waves (link depths) were fetched.
        wall: seconds, all waves together.
    """

    links: dict[str, list[str]] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    waves: int = 0
    wall: float = 0.0

    @property
    def fetched(self) -> list[str]:
        """Every URL requested, each exactly once."""
        return [r.url for r in self.records]


def crawl(
    start_url: str,
    strategy: str = "asyncio",
    max_pages: int = 100,
    concurrency: int = 10,
    timeout: float = 5.0,
    same_site: bool = True,
    **options: Any,
) -> CrawlResult:
    """Crawl from `start_url`, breadth first, fetching at most `max_pages` pages once each.

    Args:
        same_site: follow only links to the start URL's host and port.
        **options: passed to `fetch_all` (cpu, backend, start_method, ...).
    """
    result = CrawlResult()
    origin = start_url.split("/", 3)[:3]
    seen = {start_url}
    wave = [start_url]
    while wave and len(result.records) < max_pages:
        wave = wave[: max_pages - len(result.records)]
        report = fetch_all(wave, strategy, concurrency, timeout, keep_bodies=True, **options)
        result.waves += 1
        result.wall += report.wall
        result.records.extend(report.records)
        following: list[str] = []
        for url, body in (report.bodies or {}).items():
            found = extract_links(body, url)
            result.links[url] = found
            for link in found:
                if link not in seen and (not same_site or link.split("/", 3)[:3] == origin):
                    seen.add(link)
                    following.append(link)
        wave = following
    return result


def pipeline(
    urls: Sequence[str],
    outfile: str,
    strategy: str = "asyncio",
    concurrency: int = 10,
    timeout: float = 5.0,
    **options: Any,
) -> Report:
    """Fetch `urls`, extract each page's links, write "page<TAB>link" lines to `outfile`.

    Returns:
        The fetch `Report` (failed pages contribute no lines).
    """
    report = fetch_all(urls, strategy, concurrency, timeout, keep_bodies=True, **options)
    with open(outfile, "w", encoding="utf-8") as out:
        for record in report.records:
            body = (report.bodies or {}).get(record.url)
            if body is None:
                continue
            for link in extract_links(body, record.url):
                out.write(f"{record.url}\t{link}\n")
    return report
