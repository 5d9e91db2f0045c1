"""Tests for minireactor/stdio.py (StandardIO) and for add_reader on a plain pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import spin

import minireactor.stdio
from minireactor import Protocol, Reactor
from minireactor.stdio import StandardIO

pytestmark = pytest.mark.timeout(30)

REPO = Path(__file__).resolve().parents[1]


class Upper(Protocol):
    """Echoes in upper case; records what happened."""

    def __init__(self) -> None:
        self.lost: list[BaseException | None] = []
        self.paused = 0
        self.resumed = 0
        self.received = bytearray()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data
        self.transport.write(data.upper())

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)

    def pause_writing(self) -> None:
        self.paused += 1

    def resume_writing(self) -> None:
        self.resumed += 1


@pytest.fixture
def pipes() -> Iterator[dict[str, int]]:
    """Two pipes: the test writes `feed` and reads `result`; StandardIO gets the others."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    fds = {"stdin": in_r, "feed": in_w, "result": out_r, "stdout": out_w}
    yield fds
    for fd in fds.values():
        if fd >= 0:  # a test that closes one sets it to -1 (numbers get reused)
            os.close(fd)


def read_all(fd: int, size: int) -> bytes:
    """Read `size` bytes from a blocking descriptor."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)


@pytest.mark.timeout(10)
def test_add_reader_on_os_pipe(reactor: Reactor) -> None:
    r, w = os.pipe()
    got: list[bytes] = []
    try:
        reactor.add_reader(r, lambda: got.append(os.read(r, 100)))
        os.write(w, b"ping")
        spin(reactor, lambda: bool(got))
        assert got == [b"ping"]
        os.close(w)
        spin(reactor, lambda: got[-1] == b"")  # EOF reads as readable, then b""
        assert reactor.remove_reader(r) is True
    finally:
        os.close(r)


def test_console_example_from_docstring_in_a_child(backend: str, tmp_path: Path) -> None:
    doc = minireactor.stdio.__doc__ or ""
    example = textwrap.dedent(doc.split("complete::\n")[1].split("\nLayer:")[0])
    assert len(example.strip().splitlines()) <= 20
    script = tmp_path / "shout.py"
    script.write_text(example)
    lines = b"".join(b"line %d of the input\n" % i for i in range(20000))
    env = dict(os.environ, PYTHONPATH=str(REPO), MINIREACTOR_BACKEND=backend)
    result = subprocess.run(
        [sys.executable, str(script)], input=lines, capture_output=True, env=env, timeout=20
    )
    assert result.stderr == b""
    assert result.returncode == 0
    assert result.stdout == lines.upper()


def test_pipes_in_process(reactor: Reactor, pipes: dict[str, int]) -> None:
    proto = Upper()
    transport = StandardIO(proto, reactor, stdin=pipes["stdin"], stdout=pipes["stdout"])
    os.write(pipes["feed"], b"hello\n")
    os.close(pipes["feed"])  # EOF: the default eof_received closes the transport
    pipes["feed"] = -1
    spin(reactor, lambda: bool(proto.lost))
    assert proto.lost == [None]
    assert os.read(pipes["result"], 100) == b"HELLO\n"
    assert transport.get_extra_info("stdin") == pipes["stdin"]
    assert os.get_blocking(pipes["stdin"]) and os.get_blocking(pipes["stdout"])  # restored


def test_buffered_writes_and_flow_control(reactor: Reactor, pipes: dict[str, int]) -> None:
    payload = os.urandom(1 << 20)  # far more than a pipe holds (64 KiB)
    proto = Upper()
    transport = StandardIO(proto, reactor, stdin=pipes["stdin"], stdout=pipes["stdout"])
    transport.write(payload)
    assert proto.paused == 1
    assert transport.get_write_buffer_size() > 0
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(read_all(pipes["result"], 1 << 20)))
    reader.start()
    transport.close()
    spin(reactor, lambda: bool(proto.lost))
    reader.join(10)
    assert received == [payload]
    assert proto.resumed == 1


def test_write_eof_closes_stdout(reactor: Reactor, pipes: dict[str, int]) -> None:
    transport = StandardIO(Upper(), reactor, stdin=pipes["stdin"], stdout=pipes["stdout"])
    transport.write(b"last words")
    transport.write_eof()
    pipes["stdout"] = -1  # closed by write_eof
    assert transport.get_extra_info("stdout") is None
    assert read_all(pipes["result"], 100) == b"last words"  # then EOF, no hang
    assert transport.can_write_eof()
    transport.close()


def test_stdin_from_a_regular_file(reactor: Reactor, pipes: dict[str, int], tmp_path: Path) -> None:
    # epoll refuses regular files (EPERM): StandardIO must read it anyway.
    source = tmp_path / "input.txt"
    source.write_bytes(b"from a file\n" * 1000)
    proto = Upper()
    with source.open("rb") as f:
        StandardIO(proto, reactor, stdin=f.fileno(), stdout=pipes["stdout"])
        spin(reactor, lambda: bool(proto.lost))
    assert read_all(pipes["result"], 12000) == b"FROM A FILE\n" * 1000


def test_pause_and_resume_reading(reactor: Reactor, pipes: dict[str, int]) -> None:
    proto = Upper()
    transport = StandardIO(proto, reactor, stdin=pipes["stdin"], stdout=pipes["stdout"])
    transport.pause_reading()
    os.write(pipes["feed"], b"wait")
    reactor.iterate(0.05)
    reactor.iterate(0.05)
    assert proto.received == b""
    transport.resume_reading()
    spin(reactor, lambda: proto.received == b"wait")
    assert os.read(pipes["result"], 100) == b"WAIT"
    transport.abort()
    spin(reactor, lambda: bool(proto.lost))


def test_broken_protocol_closes_transport(
    reactor: Reactor, pipes: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Upper):
        def data_received(self, data: bytes) -> None:
            raise RuntimeError("bug in data_received")

    proto = Broken()
    StandardIO(proto, reactor, stdin=pipes["stdin"], stdout=pipes["stdout"])
    os.write(pipes["feed"], b"boom")
    spin(reactor, lambda: bool(proto.lost))
    assert isinstance(proto.lost[0], RuntimeError)
    assert "bug in data_received" in caplog.text
