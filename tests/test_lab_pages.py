"""The local internet's model: exact sizes, seeded fates, latency specs, links (no I/O)."""

from __future__ import annotations

import urllib.error

import pytest

from minireactor.lab.load import percentile
from minireactor.lab.pages import (
    LatencyModel,
    SiteConfig,
    extract_links,
    fate,
    links_of,
    page_body,
)
from minireactor.lab.report import classify


@pytest.mark.parametrize("size", [400, 2048, 2049, 100_000])
def test_every_page_is_exactly_size_bytes(size: int) -> None:
    config = SiteConfig(size=size)
    for n in (0, 7, 999, 123456):
        assert len(page_body(config, n)) == size


def test_too_small_a_size_says_the_minimum() -> None:
    with pytest.raises(ValueError, match="at least"):
        SiteConfig(size=50)


def test_fate_depends_on_seed_and_path_only() -> None:
    config = SiteConfig(seed=5, error_rate=0.3)
    paths = [f"/site/{i}" for i in range(300)]
    forwards = [fate(config, p) for p in paths]
    backwards = [fate(config, p) for p in reversed(paths)][::-1]
    assert forwards == backwards
    assert forwards == [fate(SiteConfig(seed=5, error_rate=0.3), p) for p in paths]
    assert forwards != [fate(SiteConfig(seed=6, error_rate=0.3), p) for p in paths]


def test_error_rate_and_kinds() -> None:
    config = SiteConfig(seed=1, error_rate=0.2, errors=("500", "reset"))
    kinds = [fate(config, f"/site/{i}").kind for i in range(2000)]
    failed = [k for k in kinds if k != "ok"]
    assert 0.15 < len(failed) / len(kinds) < 0.25
    assert set(failed) == {"500", "reset"}
    assert all(fate(SiteConfig(error_rate=0.0), f"/site/{i}").kind == "ok" for i in range(200))


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [
        (0.25, 0.25, 0.25),
        ("fixed:0.1", 0.1, 0.1),
        ("uniform:0.05:0.2", 0.05, 0.2),
        ("exp:0.1", 0.0, 30.0),
        ("pareto:0.05:1.5", 0.05, 30.0),
    ],
)
def test_latency_specs(spec: float | str, low: float, high: float) -> None:
    model = LatencyModel.parse(spec)
    samples = [model.sample(i / 1000) for i in range(1000)]
    assert all(low <= s <= high for s in samples)


def test_exponential_mean_is_about_right() -> None:
    model = LatencyModel.parse("exp:0.1")
    samples = [model.sample((i + 0.5) / 10_000) for i in range(10_000)]
    assert 0.09 < sum(samples) / len(samples) < 0.11


@pytest.mark.parametrize("spec", ["fast", "uniform:1", "exp:-1", "pareto:1:0", "gauss:1:2"])
def test_bad_latency_specs_are_explained(spec: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        LatencyModel.parse(spec)


def test_bad_settings_are_explained() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        SiteConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="subset"):
        SiteConfig(errors=("418",))


def test_links_are_seeded_and_extractable() -> None:
    config = SiteConfig(seed=2, links=4, sites=50)
    body = page_body(config, 3)
    links = extract_links(body, "http://127.0.0.1:9/site/3")
    expected = list(dict.fromkeys(f"http://127.0.0.1:9/site/{n}" for n in links_of(config, 3)))
    assert links == expected
    assert all(0 <= n < 50 for n in links_of(config, 3))


def test_classify_names_errors_from_any_library() -> None:
    assert classify(TimeoutError()) == "timeout"
    assert classify(urllib.error.URLError(TimeoutError())) == "timeout"
    assert classify(ConnectionResetError(104, "reset")) == "reset"
    assert classify(urllib.error.URLError(ConnectionRefusedError())) == "refused"
    assert classify(ValueError("odd")).startswith("ValueError")


def test_percentile() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([], 50) != percentile([], 50)  # nan
