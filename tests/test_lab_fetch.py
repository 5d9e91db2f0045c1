"""Every fetch strategy against the local internet: bodies, exact failures, concurrency."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator

import pytest

from minireactor.lab import (
    STRATEGIES,
    Internet,
    LabError,
    MissingDependency,
    crawl,
    fetch_all,
    internet,
    pipeline,
    read_url_file,
)
from minireactor.lab.procs import require
from minireactor.lab.workers import digest

TIMEOUT = 1.0  # generous on a loaded machine; never-answering pages cost this much


def _available(strategy: str) -> bool:
    needs = {"aiohttp": "aiohttp", "dask": "distributed"}.get(strategy)
    return needs is None or importlib.util.find_spec(needs) is not None


STRATEGY_PARAMS = [
    pytest.param(s, marks=pytest.mark.skipif(not _available(s), reason="optional library missing"))
    for s in STRATEGIES
]


@pytest.fixture(scope="module")
def net() -> Iterator[Internet]:
    """10% failures of every kind: HTTP 500, connection reset, never answers."""
    with internet(seed=4, latency=0.01, error_rate=0.1) as n:
        yield n


@pytest.fixture(scope="module")
def answering_net() -> Iterator[Internet]:
    """Failures that answer at once (500 and reset), so no client abandons a request."""
    with internet(seed=4, latency=0.05, error_rate=0.1, errors=("500", "reset")) as n:
        yield n


def expected_errors(net: Internet, urls: list[str]) -> dict[str, str]:
    words = {"500": "http 500", "reset": "reset", "timeout": "timeout"}
    return {u: words[net.fate(u).kind] for u in urls if net.fate(u).kind != "ok"}


def test_the_error_run_has_every_kind(net: Internet) -> None:
    errors = expected_errors(net, net.urls(100))
    assert set(errors.values()) == {"http 500", "reset", "timeout"}
    assert 4 <= len(errors) <= 20


@pytest.mark.timeout(90)
@pytest.mark.parametrize("strategy", STRATEGY_PARAMS)
def test_strategy_fetches_right_bodies_and_exactly_the_seeded_errors(
    net: Internet, strategy: str
) -> None:
    urls = net.urls(100)
    report = fetch_all(urls, strategy=strategy, concurrency=5, timeout=TIMEOUT)
    assert [r.url for r in report.records] == urls
    assert report.errors == expected_errors(net, urls)  # the same set for every strategy
    expected_counts: dict[str, int] = {}
    for word in expected_errors(net, urls).values():
        expected_counts[word] = expected_counts.get(word, 0) + 1
    assert report.failure_counts() == expected_counts
    for record in report.records:
        if record.ok:
            assert record.nbytes == 2048
            assert record.digest == digest(net.body(record.url))
    assert report.ok + report.failed == 100
    assert report.peak_concurrency() <= 5


@pytest.mark.timeout(90)
@pytest.mark.parametrize("strategy", STRATEGY_PARAMS)
def test_strategy_never_exceeds_its_concurrency_on_the_server(
    answering_net: Internet, strategy: str
) -> None:
    report = fetch_all(
        answering_net.urls(30), strategy=strategy, concurrency=5, timeout=5.0, net=answering_net
    )
    assert report.server is not None
    assert report.server["requests"] >= 30
    assert 1 <= report.server["peak_in_flight"] <= (1 if strategy == "sequential" else 5)


def test_keep_bodies_and_cpu_step(answering_net: Internet) -> None:
    urls = answering_net.urls(10)
    report = fetch_all(urls, "thread_pool", concurrency=4, cpu=12, keep_bodies=True)
    assert report.bodies is not None
    assert all(report.bodies[r.url] == answering_net.body(r.url) for r in report.records if r.ok)


@pytest.mark.timeout(60)
def test_bandwidth_cap_slows_big_pages() -> None:
    with internet(latency=0.0, size=4000, bandwidth=20_000) as n:  # 0.2 s per page at best
        report = fetch_all(n.urls(4), "threads", concurrency=4)
    assert report.ok == 4
    assert min(r.duration for r in report.records) >= 0.15


@pytest.mark.timeout(60)
def test_one_thousand_slow_requests_overlap_on_the_server() -> None:
    """Latency is a timer, not a sleeping thread: 1,000 one-second requests overlap."""
    with internet(latency=1.0) as n:
        start = time.monotonic()
        report = fetch_all(n.urls(1000), "asyncio", concurrency=1000, timeout=30.0, net=n)
        wall = time.monotonic() - start
    assert report.ok == 1000
    assert report.server is not None and report.server["peak_in_flight"] >= 500
    assert wall < 20  # about 1 s plus connection overhead; a huge margin for loaded CI


def test_crawl_fetches_each_page_once(answering_net: Internet) -> None:
    answering_net.reset()
    result = crawl(answering_net.base_url + "/site/0", "thread_pool", max_pages=25, concurrency=5)
    assert len(result.fetched) == len(set(result.fetched)) == 25
    assert result.waves >= 2
    served = [e.path for e in answering_net.log()]
    assert len(served) == len(set(served)) == 25


def test_pipeline_writes_every_link(answering_net: Internet, tmp_path: object) -> None:
    out = f"{tmp_path}/links.tsv"
    report = pipeline(answering_net.urls(10), out, strategy="asyncio", concurrency=5)
    with open(out, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines and all(line.count("\t") == 1 for line in lines)
    assert {line.split("\t")[0] for line in lines} == {r.url for r in report.records if r.ok}


def test_url_file(tmp_path: object, answering_net: Internet) -> None:
    path = f"{tmp_path}/urls.txt"
    with open(path, "w") as f:
        f.write("# local pages\n" + "\n".join(answering_net.urls(3)) + "\n\n")
    assert read_url_file(path) == answering_net.urls(3)
    with open(path, "w") as f:
        f.write("ftp://example.com/\n")
    with pytest.raises(LabError, match="http"):
        read_url_file(path)


def test_unknown_strategy_and_bad_limits() -> None:
    with pytest.raises(LabError, match="choose from"):
        fetch_all(["http://127.0.0.1:9/"], strategy="carrier_pigeon")
    with pytest.raises(LabError, match="concurrency"):
        fetch_all(["http://127.0.0.1:9/"], concurrency=0)


def test_missing_optional_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingDependency, match=r"minireactor\[lab\]"):
        require("surely_not_an_installed_module", "lab")
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # makes `import aiohttp` fail
    with pytest.raises(MissingDependency, match=r"pip install 'minireactor\[lab\]'"):
        fetch_all(["http://127.0.0.1:9/"], strategy="aiohttp")


def test_unreachable_server_is_recorded_not_raised() -> None:
    report = fetch_all(["http://127.0.0.1:9/site/1"], "sequential", timeout=2.0)
    assert report.failed == 1 and report.records[0].error == "refused"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("strategy", ["sequential", "thread_pool", "asyncio", "minireactor"])
def test_every_strategy_records_a_timeline(answering_net: Internet, strategy: str) -> None:
    """One bar per request, one row per worker: the asyncio strategy draws like the others."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from minireactor.lab import plots

    report = fetch_all(answering_net.urls(12), strategy, 4, TIMEOUT, net=answering_net)
    workers = {r.worker for r in report.records}
    assert 1 <= len(workers) <= (1 if strategy == "sequential" else 4)
    assert all(report.start <= r.start <= r.end for r in report.records)
    fig = plots.timeline(report, by="worker")
    ax = fig.axes[0]
    assert len(ax.collections) == len(report.records)
    assert len(ax.get_yticks()) == len(workers)
    matplotlib.pyplot.close(fig)
