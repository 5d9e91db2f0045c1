"""Smoke tests of benchmarks/: the harness runs end to end, so it cannot rot.

Not a measurement: the echo benchmark runs for a fraction of a second with
two servers (asyncio's Protocol server and the C reference) and four
connections, and we check the JSON it writes has sane fields. The pieces it
leans on are checked directly too: the /proc CPU accounting counts threads
that have already ended, sizes parse, --servers patterns select, and a
missing compiler gives a clear error. The timer benchmark runs once with
tiny counts. About 5 s in all.

Needs Linux (/proc, epoll) and gcc; skipped with the reason otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import select
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from benchmarks import build
from benchmarks.echo import parse_sizes, select_servers
from benchmarks.procstat import process_cpu

ROOT = Path(__file__).resolve().parent.parent

needs_linux = pytest.mark.skipif(
    not hasattr(select, "epoll") or not Path("/proc/self/stat").exists(),
    reason="the benchmarks need Linux (/proc and epoll)",
)
needs_gcc = pytest.mark.skipif(
    build.gcc_path() is None, reason="gcc is not installed: the C load client cannot be built"
)


def assert_ratios(entries: dict[str, Any], baseline: str, metric: str) -> None:
    """Every `ratio_<metric>` is that entry's median over the baseline's.

    (The baseline's own ratio is 1 by construction; checking only it would
    pass whatever the ratios of the others were.)
    """
    base = entries[baseline][metric]["median"]
    assert base > 0 and len(entries) > 1, entries
    for name, entry in entries.items():
        expected = entry[metric]["median"] / base
        assert entry[f"ratio_{metric}"] == pytest.approx(expected), name


@needs_linux
@needs_gcc
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_echo_harness_writes_sane_json(tmp_path: Path) -> None:
    out = tmp_path / "echo.json"
    command = [
        sys.executable, "-m", "benchmarks.echo",
        "--servers", "asyncio-protocol,c-epoll",
        "--repeats", "1", "--duration", "0.3", "--warmup", "0.1", "--connections", "4",
        "--json", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=50)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "asyncio-protocol" in result.stdout and "vs aio" in result.stdout

    document = json.loads(out.read_text())
    assert document["meta"]["config"]["connections"] == [4]
    runs = document["runs"]
    assert {run["server"] for run in runs} == {"asyncio-protocol", "c-epoll"}
    for run in runs:
        assert "error" not in run, run
        assert run["requests"] > 0 and run["req_per_s"] > 0
        assert run["errors"] == 0
        assert 0 < run["p50_us"] <= run["p99_us"]
        assert 0 <= run["server_user_us"] <= run["server_total_us"]
        # Bytes counted in the window differ from requests x size by at most
        # one message per connection (those in flight when it opened/closed).
        assert abs(run["bytes"] - run["requests"] * 1024) <= 4 * 1024
    baseline = document["summary"]["1024"]["asyncio-protocol"]
    assert baseline["req_per_s"]["min"] <= baseline["req_per_s"]["median"]
    assert_ratios(document["summary"]["1024"], "asyncio-protocol", "req_per_s")


@needs_linux
@pytest.mark.timeout(30)
def test_cpu_accounting_counts_threads_that_have_ended() -> None:
    # Two threads each burn 0.15 s of CPU and exit; the process then idles.
    code = textwrap.dedent("""
        import threading, time
        def burn():
            end = time.thread_time() + 0.15
            while time.thread_time() < end:
                pass
        threads = [threading.Thread(target=burn) for _ in range(2)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("done", flush=True)
        input()
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "done\n"
        assert process_cpu(child.pid).total >= 0.28  # 0.3 s, less a tick of rounding
    finally:
        child.kill()
        child.wait()


def test_sizes_parse_as_kib() -> None:
    assert parse_sizes("1k,10k,100k") == [1024, 10240, 102400]
    assert parse_sizes("512, 1KiB, 1m") == [512, 1024, 1024 * 1024]
    with pytest.raises(argparse.ArgumentTypeError, match="1k"):
        parse_sizes("lots")


def test_server_patterns_select_families_and_reject_unknown_names() -> None:
    runnable, skipped = select_servers("asyncio")
    names = {spec.name for spec in runnable} | set(skipped)
    assert names == {"asyncio-protocol", "asyncio-streams"}
    with pytest.raises(SystemExit, match="no-such-server"):
        select_servers("no-such-server")


def test_missing_compiler_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "BIN_DIR", tmp_path)
    monkeypatch.setenv("CC", "no-such-compiler-here")
    with pytest.raises(build.BuildError, match="gcc was not found"):
        build.ensure_built("echo_client")


@needs_linux
@pytest.mark.timeout(60)
def test_timers_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "timers.json"
    command = [
        sys.executable, "-m", "benchmarks.timers", "--impls", "asyncio,minireactor",
        "--repeats", "1", "--later", "2000", "--soon", "5000", "--json", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=50)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(out.read_text())["summary"]
    for workload in ("call_later", "call_soon"):
        assert set(summary[workload]) == {"asyncio", "minireactor"}
        assert_ratios(summary[workload], "asyncio", "cpu_s")
        assert 0 < summary[workload]["minireactor"]["wall_s"]["median"] < 10


@pytest.mark.skipif(
    importlib.util.find_spec("twisted") is None,
    reason="Twisted is not installed (the 'peers' extra)",
)
@pytest.mark.timeout(120)
def test_twisted_loops_benchmark_runs() -> None:
    command = [sys.executable, "-m", "benchmarks.twisted_loops", "--repeats", "1"]
    command += ["--clients", "2", "--messages", "20", "--json"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stdout + result.stderr
    rates = json.loads(result.stdout)["round_trips_per_s"]
    assert list(rates) == ["twisted", "asyncio", "minireactor"]
    assert all(rate["median"] > 0 for rate in rates.values())


@needs_linux
@needs_gcc
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_whole_suite_runs_quickly_and_writes_every_section(tmp_path: Path) -> None:
    # `python -m benchmarks --quick`: every section (echo, streams, http,
    # timers, idle, wakeups) for a fraction of a second each, about 10 s.
    command = [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    assert set(suite["sections"]) == {"echo", "streams", "http", "timers", "idle", "wakeups"}
    assert all(s["exit_status"] == 0 for s in suite["sections"].values())

    if len(os.sched_getaffinity(0)) > 1:  # each section pins server and client apart
        for name in ("echo", "streams", "http", "idle"):
            config = json.loads((tmp_path / f"{name}.json").read_text())["meta"]["config"]
            assert config["server_cpu"] != config["client_cpu"], name
    http_doc = json.loads((tmp_path / "http.json").read_text())
    for run in http_doc["runs"]:  # the C client checked every status and body
        assert "error" not in run, run
        assert run["requests"] > 0 and run["errors"] == 0
    idle_doc = json.loads((tmp_path / "idle.json").read_text())
    assert {run["idle"] for run in idle_doc["runs"]} == {0, 100}
    assert all(run["errors"] == 0 for run in idle_doc["runs"] if "error" not in run)
    shares = idle_doc["retained"]["epoll"]  # throughput kept with 100 idle connections
    assert set(shares) == {"0", "100"} and 0 < shares["100"] < 10
    wake_doc = json.loads((tmp_path / "wakeups.json").read_text())
    assert_ratios(wake_doc["summary"]["pingpong"], "asyncio", "per_s")
    assert wake_doc["summary"]["flood"]["minireactor-epoll"]["per_s"]["median"] > 0
    streams = json.loads((tmp_path / "streams.json").read_text())["summary"]["1024"]
    assert_ratios(streams, "asyncio64k-streams", "req_per_s")

    pytest.importorskip("matplotlib")
    from benchmarks import plots

    figures = plots.suite_figures(tmp_path)
    assert set(figures) == set(suite["sections"])
    assert all(figure.axes for figure in figures.values())


def test_select_past_fd_setsize_is_a_gap_with_the_reason() -> None:
    from benchmarks.idle import gap_reason

    reason = gap_reason("select", 5000, 10)
    assert reason is not None and "FD_SETSIZE" in reason
    assert gap_reason("select", 0, 10) is None
    assert gap_reason("epoll", 5000, 10) is None or "RLIMIT_NOFILE" in gap_reason("epoll", 5000, 10)


def test_http_server_path_benchmark_answers_every_request() -> None:
    from benchmarks.http_path import BROWSER_REQUEST, REQUEST, run_once

    assert 0 < run_once(200, REQUEST) < 0.01  # seconds per request: anything sane
    assert 0 < run_once(50, BROWSER_REQUEST) < 0.01
