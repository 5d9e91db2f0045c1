"""Tests for minireactor/demo/cli.py: the commands, run as a user runs them.

Each real run starts `python -m minireactor.demo ...` in a subprocess on
free ports, talks to it over loopback, then stops it with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from minireactor.demo import cli


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minireactor.demo", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[bytes], list[bytes]]]:
    """Start the demo; yields it and its output so far (a list to append to)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "minireactor.demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
    )
    try:
        yield proc, []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def read_until(proc: subprocess.Popen[bytes], out: list[bytes], pattern: str) -> re.Match[str]:
    """Read the process's output until `pattern` matches it (10 s at most)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 10
    while True:
        text = b"".join(out).decode()
        match = re.search(pattern, text)
        if match:
            return match
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, f"no {pattern!r} in output: {text!r}"
        if select.select([proc.stdout], [], [], left)[0]:
            out.append(os.read(proc.stdout.fileno(), 4096))


def interrupt(proc: subprocess.Popen[bytes], out: list[bytes]) -> str:
    """Ctrl-C the process; returns all it printed once it has exited."""
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.stdout is not None
    out.append(proc.stdout.read())
    return b"".join(out).decode()


def test_help() -> None:
    result = demo("--help")
    assert result.returncode == 0
    assert "chat" in result.stdout and "dashboard" in result.stdout
    result = demo("dashboard", "--help")
    assert result.returncode == 0
    for option in ("--port", "--chat-port", "--backend", "--host", "--rate", "--no-trace"):
        assert option in result.stdout


def test_an_unknown_backend_is_a_usage_error() -> None:
    result = demo("chat", "--backend", "carrier-pigeon")
    assert result.returncode == 2
    assert "invalid choice: 'carrier-pigeon'" in result.stderr


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = demo("chat", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert "already in use" in result.stderr and "Traceback" not in result.stderr


def test_add_subcommands_registers_demo_chat_and_dashboard() -> None:
    parser = argparse.ArgumentParser(prog="minireactor")
    cli.add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", "chat", "--port", "9", "--rate", "0"])
    assert args.func is cli.run_chat and args.port == 9 and args.rate == 0
    args = parser.parse_args(["demo", "dashboard", "--chat-port", "7"])
    assert args.func is cli.run_dashboard and args.chat_port == 7 and args.trace


@pytest.mark.timeout(30)
def test_chat_runs_and_stops_on_ctrl_c() -> None:
    with running("chat", "--port", "0", "--backend", "poll") as (proc, out):
        match = read_until(proc, out, r"nc 127\.0\.0\.1 (\d+)")
        with socket.create_connection(("127.0.0.1", int(match[1])), timeout=5) as sock:
            greeting = sock.recv(4096).decode()
            assert "welcome to the minireactor chat on the poll backend" in greeting
        assert "stopped" in interrupt(proc, out)


@pytest.mark.timeout(30)
def test_dashboard_runs_and_stops_on_ctrl_c() -> None:
    args = ("dashboard", "--port", "0", "--chat-port", "0", "--admin-token", "t0k")
    with running(*args) as (proc, out):
        match = read_until(proc, out, r"dashboard:  (http://\S+)")
        link_file = read_until(proc, out, r"open the link in (\S+) ")[1]
        # The terminal may be on the projector: the token goes to a private file only.
        assert "t0k" not in b"".join(out).decode()
        assert os.stat(link_file).st_mode & 0o777 == 0o600
        with open(link_file) as f:
            assert f.read().strip().endswith("/?admin=t0k")
        with urllib.request.urlopen(match[1] + "stats", timeout=5) as response:
            stats = json.load(response)
        assert stats["connections"] == 0 and stats["tracing"] is True
        stopped = interrupt(proc, out)
        assert "stopped" in stopped and "t0k" not in stopped
    assert not os.path.exists(link_file)  # the token dies with the server
