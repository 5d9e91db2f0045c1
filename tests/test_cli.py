"""The `minireactor` command, end to end, in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from minireactor import cli

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}
FAST_SITE = ["--latency", "0.01", "--timeout", "1.0"]


def run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minireactor.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


@contextmanager
def foreground(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run a long-lived subcommand; yield it and its first line; Ctrl-C it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "minireactor.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode in (0, 130), err
        assert "Traceback" not in err


def port_of(line: str) -> int:
    return int(line.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def assert_one_line_error(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr


@pytest.mark.timeout(120)
def test_fetch_all_strategies_json() -> None:
    result = run(
        "fetch",
        "--strategy",
        "all",
        "--urls",
        "12",
        "--error-rate",
        "0.1",
        "--seed",
        "4",
        "--concurrency",
        "3",
        "--json",
        *FAST_SITE,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 8  # all ten, less any whose optional library is missing
    failed = {row["failed"] for row in rows}
    assert len(failed) == 1  # every strategy saw the same failures
    for row in rows:
        assert {"strategy", "ok", "failed", "wall", "peak_in_flight"} <= set(row)
        assert row["ok"] + row["failed"] == 12 and row["peak_in_flight"] <= 3


@pytest.mark.timeout(60)
def test_fetch_one_strategy_table_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "timeline.png"
    result = run(
        "fetch", "--strategy", "minireactor", "--urls", "10", "--plot", str(png), *FAST_SITE
    )
    assert result.returncode == 0, result.stderr
    assert "minireactor" in result.stdout and "peak_in_flight" in result.stdout
    assert png.stat().st_size > 1000


@pytest.mark.timeout(60)
def test_internet_then_fetch_from_it(tmp_path: Path) -> None:
    with foreground("internet", "--port", "0", "--latency", "0.01", "--seed", "2") as (_, line):
        assert "local internet on http://127.0.0.1:" in line
        base = line.split()[3].rsplit("/site/", 1)[0]
        result = run("fetch", "--base-url", base, "--strategy", "asyncio", "--urls", "5", "--json")
        url_file = tmp_path / "urls.txt"
        url_file.write_text("\n".join(f"{base}/site/{i}" for i in range(4)))
        from_file = run(
            "fetch", "--url-file", str(url_file), "--strategy", "threads,minireactor", "--json"
        )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["ok"] == 5 and row["strategy"] == "asyncio"
    assert from_file.returncode == 0, from_file.stderr
    assert [(r["strategy"], r["ok"]) for r in json.loads(from_file.stdout)] == [
        ("threads", 4),
        ("minireactor", 4),
    ]
    assert_one_line_error(run("fetch", "--base-url", "http://127.0.0.1:9"), "no local internet")


@pytest.mark.timeout(60)
def test_serve_then_load() -> None:
    with foreground("serve", "--model", "threads", "--port", "0") as (_, line):
        port = port_of(line)
        load = ("load", "--port", str(port), "--clients", "4", "--duration", "0.5")
        result = run(*load, "--engine", "python", "--json")
        open_loop_in_c = run(*load, "--engine", "c", "--rate", "100")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["requests"] > 0 and summary["errors"] == 0 and summary["timeouts"] == 0
    assert summary["engine"] == "python"
    assert_one_line_error(open_loop_in_c, "closed loops")


@pytest.mark.timeout(90)
def test_compare_servers_and_fetch(tmp_path: Path) -> None:
    png = tmp_path / "servers.png"
    result = run(
        "compare",
        "servers",
        "--models",
        "minireactor,thread_pool",
        "--clients",
        "1,2",
        "--duration",
        "0.3",
        "--json",
        "--plot",
        str(png),
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["model"], r["clients"]) for r in rows] == [
        ("minireactor", 1),
        ("minireactor", 2),
        ("thread_pool", 1),
        ("thread_pool", 2),
    ]
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in rows)
    assert png.exists()
    result = run(
        "compare",
        "fetch",
        "--strategies",
        "sequential,asyncio",
        "--concurrency",
        "1,4",
        "--urls",
        "8",
        *FAST_SITE,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("asyncio") == 2


@pytest.mark.timeout(60)
def test_crawl() -> None:
    result = run("crawl", "--max-pages", "12", "--latency", "0.01", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pages"] == 12


def test_errors_are_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert_one_line_error(run("serve", "--model", "minireactor", "--port", port), "in use")
        assert_one_line_error(run("internet", "--port", port), "in use")
    assert_one_line_error(run("load", "--port", "9", "--duration", "0.1"), "cannot connect")
    assert_one_line_error(run("fetch", "--strategy", "pigeon"), "choose from")
    assert_one_line_error(run("fetch", "--latency", "soon"), "latency")
    usage = run("fetch", "--concurrency", "many")
    assert usage.returncode == 2
    assert_one_line_error(usage, "invalid int value")


def test_plugins_add_subcommands_and_missing_ones_are_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "PLUGINS", ("minireactor.no_such_plugin",))
    commands = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"internet", "fetch", "serve", "load", "compare", "crawl"} <= set(commands)
    assert cli.main([]) == 2  # no command: help, usage status


@pytest.mark.timeout(90)
def test_load_names_starved_connections_on_a_line_of_their_own() -> None:
    # One connection at a time: with keep-alive, 6 clients leave 5 never served.
    with foreground("serve", "--model", "iterative", "--port", "0") as (_, line):
        port = port_of(line)
        result = run(
            "load", "--port", str(port), "--clients", "6", "--duration", "0.5",
            "--engine", "python",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "starved" in header and "explanation" not in header
    explained = [ln for ln in result.stdout.splitlines() if "never served" in ln]
    assert len(explained) == 1 and "starved, not a wrong answer" in explained[0]


@pytest.mark.timeout(120)
def test_compare_servers_runs_the_minireactor_model_on_each_backend_named() -> None:
    result = run(
        "compare", "servers", "--models", "minireactor", "--backends", "poll,select",
        "--clients", "2", "--duration", "0.3", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["label"], r["backend"]) for r in rows] == [
        ("minireactor/poll", "poll"),
        ("minireactor/select", "select"),
    ]
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in rows)
    assert_one_line_error(
        run("compare", "servers", "--models", "minireactor", "--backends", "nope"),
        "unknown backend",
    )
