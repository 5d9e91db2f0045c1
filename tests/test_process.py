"""Tests for minireactor/process.py: child processes, pipes and reaping, on every backend."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import open_fds, spin

from minireactor import Reactor
from minireactor.process import ProcessProtocol, ProcessTransport, spawn_process

pytestmark = pytest.mark.timeout(60)

SIXTEEN_MIB = 16 * 1024 * 1024


class Recorder(ProcessProtocol):
    """Collects output and records every callback in order."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self.events: list[str] = []
        self.exited: int | None = None
        self.ended: int | None = None
        self.transport: Any = None

    def connection_made(self, transport: ProcessTransport) -> None:
        self.events.append("connection_made")
        self.transport = transport

    def out_received(self, data: bytes) -> None:
        self.out += data

    def err_received(self, data: bytes) -> None:
        self.err += data

    def process_exited(self, returncode: int) -> None:
        self.events.append("process_exited")
        self.exited = returncode

    def process_ended(self, returncode: int) -> None:
        self.events.append("process_ended")
        self.ended = returncode


def run_child(reactor: Reactor, argv: list[str], **kwargs: Any) -> Recorder:
    proto = Recorder()
    spawn_process(reactor, proto, argv, **kwargs)
    spin(reactor, lambda: proto.ended is not None, timeout=30)
    return proto


_ZOMBIES_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _note_zombies_before() -> None:
    """Zombies that other code in this process left earlier are not this test's."""
    _ZOMBIES_BEFORE.clear()
    _ZOMBIES_BEFORE.update(_all_zombies())


def our_zombies() -> list[int]:
    """PIDs of children that exited during this test and were never reaped (state Z)."""
    return [pid for pid in _all_zombies() if pid not in _ZOMBIES_BEFORE]


def _all_zombies() -> list[int]:
    zombies = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone while we looked
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state == "Z" and int(ppid) == os.getpid():
            zombies.append(int(entry))
    return zombies


def test_stdout_stderr_exit_code_and_order(reactor: Reactor) -> None:
    proto = run_child(reactor, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert bytes(proto.out) == b"out\n"
    assert bytes(proto.err) == b"err\n"
    assert proto.exited == proto.ended == 3
    assert proto.events == ["connection_made", "process_exited", "process_ended"]
    assert proto.transport.returncode == 3


def test_stdin_round_trip_through_cat(reactor: Reactor) -> None:
    # 1 MiB each way: cat blocks writing unless we read while we write.
    payload = os.urandom(1 << 20)
    proto = Recorder()
    transport = spawn_process(reactor, proto, ["cat"])
    transport.write(payload[:1000])
    transport.writelines([payload[1000:5000], payload[5000:]])
    transport.close_stdin()
    spin(reactor, lambda: proto.ended is not None)
    assert bytes(proto.out) == payload
    assert proto.ended == 0


def test_output_larger_than_a_pipe_arrives_intact(reactor: Reactor) -> None:
    code = "import sys; sys.stdout.buffer.write(bytes(range(256)) * (16 * 4096))"
    digest = hashlib.sha256()
    received = [0]

    class Hasher(Recorder):
        def out_received(self, data: bytes) -> None:
            digest.update(data)
            received[0] += len(data)

    proto = Hasher()
    spawn_process(reactor, proto, [sys.executable, "-c", code])
    spin(reactor, lambda: proto.ended is not None, timeout=30)
    assert received[0] == SIXTEEN_MIB
    expected = hashlib.sha256(bytes(range(256)) * (16 * 4096)).hexdigest()
    assert digest.hexdigest() == expected
    assert proto.ended == 0


@pytest.mark.parametrize(
    ("sig", "returncode"),
    [("TERM", -15), ("KILL", -9), ("INT", -2), (signal.SIGTERM, -15), ("SIGKILL", -9)],
)
def test_signals_give_negative_returncodes(
    reactor: Reactor, sig: str | int, returncode: int
) -> None:
    proto = Recorder()
    transport = spawn_process(reactor, proto, ["sleep", "30"])
    transport.signal_process(sig)
    spin(reactor, lambda: proto.ended is not None)
    assert proto.exited == proto.ended == returncode
    with pytest.raises(ProcessLookupError, match="already exited"):
        transport.signal_process("TERM")


def test_unknown_signal_is_a_clear_error(reactor: Reactor) -> None:
    transport = spawn_process(reactor, Recorder(), ["sleep", "30"])
    with pytest.raises(ValueError, match="unknown signal 'NOPE'"):
        transport.signal_process("NOPE")
    transport.abort()


def test_missing_executable_raises_at_spawn(reactor: Reactor) -> None:
    before = open_fds()
    proto = Recorder()
    with pytest.raises(FileNotFoundError, match="no-such-program-here"):
        spawn_process(reactor, proto, ["no-such-program-here", "--flag"])
    assert proto.events == []
    assert open_fds() == before
    with pytest.raises(ValueError, match="argv is empty"):
        spawn_process(reactor, proto, [])


def test_env_and_working_directory(reactor: Reactor, tmp_path: Path) -> None:
    proto = run_child(
        reactor,
        ["/bin/sh", "-c", 'echo "$GREETING"; pwd'],
        env={"GREETING": "hello child"},
        path=tmp_path,
    )
    assert proto.out.decode().splitlines() == ["hello child", str(tmp_path.resolve())]


def test_process_ended_waits_for_a_grandchild_holding_the_pipe(reactor: Reactor) -> None:
    # The shell exits at once; the background job keeps stdout open a moment.
    proto = run_child(reactor, ["sh", "-c", "(sleep 0.2; echo late) & exit 0"])
    assert proto.exited == 0
    assert bytes(proto.out) == b"late\n"
    assert proto.events[-2:] == ["process_exited", "process_ended"]


def test_no_zombies_or_descriptors_left_after_200_children(reactor: Reactor) -> None:
    before = open_fds()
    for _batch in range(4):
        protos = [Recorder() for _ in range(50)]
        for proto in protos:
            spawn_process(reactor, proto, ["true"])
        spin(reactor, lambda ps=protos: all(p.ended is not None for p in ps), timeout=30)  # type: ignore[misc]
        assert {p.ended for p in protos} == {0}
    assert our_zombies() == []
    assert open_fds() == before


def test_protocol_errors_are_logged_and_the_child_still_reaped(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Recorder):
        def out_received(self, data: bytes) -> None:
            raise RuntimeError("bug in out_received")

    proto = Broken()
    spawn_process(reactor, proto, ["echo", "hi"])
    spin(reactor, lambda: proto.ended is not None)
    assert "bug in out_received" in caplog.text
    assert proto.ended == 0


def test_shutdown_terminates_children(reactor: Reactor) -> None:
    proto = Recorder()

    def start() -> None:
        spawn_process(reactor, proto, ["sleep", "30"])
        reactor.stop()

    reactor.call_when_running(start)
    reactor.run()  # shutdown: stdin closed, SIGTERM, wait for the child
    assert proto.ended == -signal.SIGTERM
    assert our_zombies() == []


def test_close_kills_and_reaps(backend: str) -> None:
    reactor = Reactor(backend=backend)
    proto = Recorder()
    transport = spawn_process(reactor, proto, ["sleep", "30"])
    reactor.close()
    assert proto.ended == -signal.SIGKILL
    assert not Path(f"/proc/{transport.pid}").exists()


def test_without_pidfd_falls_back_to_polling_waitpid(
    reactor: Reactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "pidfd_open")  # as on macOS or Linux before 5.3
    proto = run_child(reactor, ["sh", "-c", "echo polled; exit 5"])
    assert (bytes(proto.out), proto.ended) == (b"polled\n", 5)
    sleeper = Recorder()
    transport = spawn_process(reactor, sleeper, ["sleep", "30"])
    transport.signal_process("TERM")  # os.kill, without a pidfd
    spin(reactor, lambda: sleeper.ended is not None)
    assert sleeper.ended == -15
    victim = Recorder()
    spawn_process(reactor, victim, ["sleep", "30"]).abort()
    assert victim.ended == -9
    assert our_zombies() == []


def test_unwatchable_child_is_killed_not_leaked(
    reactor: Reactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any) -> None:
        raise OSError("no room for another descriptor")

    proto = Recorder()
    monkeypatch.setattr(reactor, "add_reader", refuse)
    with pytest.raises(OSError, match="no room"):
        spawn_process(reactor, proto, ["sleep", "30"])
    monkeypatch.undo()
    assert proto.ended == -9
    assert our_zombies() == []
