"""Graded tests for exercise 10 (coroutine-scheduler): orders of events, not speed."""

from __future__ import annotations

import socket
from typing import Any

from scheduler import ReadWait, Scheduler, Sleep, WriteWait

from minireactor.grader.testing import expect, points


@points(2)
def test_round_robin() -> None:
    log: list[str] = []

    def worker(name: str, steps: int) -> Any:
        for i in range(steps):
            log.append(f"{name}{i}")
            yield
        return name.upper()

    sched = Scheduler()
    a = sched.spawn(worker("a", 3))
    b = sched.spawn(worker("b", 2))
    sched.run()
    expect(log, ["a0", "b0", "a1", "b1", "a2"], "the order of steps")
    expect((a.done, a.result, b.result), (True, "A", "B"), "(a.done, a.result, b.result)")


@points(2)
def test_sleepers_wake_in_order_while_others_run() -> None:
    log: list[str] = []

    def sleeper(name: str, seconds: float) -> Any:
        yield Sleep(seconds)
        log.append(name)

    def busy() -> Any:
        for i in range(3):
            log.append(f"busy{i}")
            yield

    sched = Scheduler()
    sched.spawn(sleeper("slow", 0.06))
    sched.spawn(sleeper("fast", 0.02))
    sched.spawn(sleeper("middle", 0.04))
    sched.spawn(busy())
    sched.run()
    expect(log, ["busy0", "busy1", "busy2", "fast", "middle", "slow"], "the order of events")


@points(1)
def test_a_failing_task_does_not_stop_the_others() -> None:
    def broken() -> Any:
        yield
        raise ValueError("raised on purpose by the test")

    def fine() -> Any:
        yield
        yield
        return 42

    sched = Scheduler()
    bad = sched.spawn(broken())
    good = sched.spawn(fine())
    sched.run()
    expect(type(bad.exception).__name__, "ValueError", "the failing task's exception")
    expect((good.done, good.result), (True, 42), "the other task's (done, result)")


@points(2)
def test_read_wait_resumes_when_data_arrives() -> None:
    left, right = socket.socketpair()
    left.setblocking(False)
    log: list[Any] = []

    def reader() -> Any:
        log.append("reader waits")
        yield ReadWait(left)
        log.append(("reader got", left.recv(100)))

    def writer() -> Any:
        yield Sleep(0.03)
        log.append("writer sends")
        right.sendall(b"ping")

    sched = Scheduler()
    sched.spawn(reader())
    sched.spawn(writer())
    sched.run()
    expect(log, ["reader waits", "writer sends", ("reader got", b"ping")], "the order of events")
    left.close()
    right.close()


@points(2)
def test_echo_server_and_clients_in_one_scheduler() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    replies: dict[int, bytes] = {}
    sched = Scheduler()

    def handle(conn: socket.socket) -> Any:
        while True:
            yield ReadWait(conn)
            data = conn.recv(1024)
            if not data:
                conn.close()
                return
            yield WriteWait(conn)
            conn.send(data)

    def server(clients: int) -> Any:
        for _ in range(clients):
            yield ReadWait(listener)
            conn, _ = listener.accept()
            conn.setblocking(False)
            sched.spawn(handle(conn))

    def client(i: int) -> Any:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(listener.getsockname())
        yield WriteWait(sock)
        sock.send(b"hello %d" % i)
        got = b""
        while len(got) < len(b"hello %d" % i):
            yield ReadWait(sock)
            got += sock.recv(1024)
        replies[i] = got
        sock.close()

    sched.spawn(server(3))
    for i in range(3):
        sched.spawn(client(i))
    sched.run()
    expect(replies, {0: b"hello 0", 1: b"hello 1", 2: b"hello 2"}, "what the clients got back")
    listener.close()


@points(1)
def test_tasks_can_spawn_tasks() -> None:
    log: list[str] = []
    sched = Scheduler()

    def child(n: int) -> Any:
        log.append(f"child{n}")
        yield

    def parent() -> Any:
        for n in range(3):
            sched.spawn(child(n))
            yield
        log.append("parent done")

    sched.spawn(parent())
    sched.run()
    expect(sorted(log), ["child0", "child1", "child2", "parent done"], "what ran")
