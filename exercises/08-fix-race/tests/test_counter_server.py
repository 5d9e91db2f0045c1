"""Graded tests for exercise 08 (fix-race): hammer the counter, check every update counted.

Threads start together (a barrier) so that they really overlap; the checks are
about counts and uniqueness, never about speed.
"""

from __future__ import annotations

import threading

from counter_server import Counter, CounterServer

from minireactor.grader.testing import Background, connect, expect, points, recv_until


def in_threads(count: int, work: object) -> list[list[int]]:
    """Run work(i) -> list[int] in `count` threads started together; return their lists."""
    barrier = threading.Barrier(count)
    results: list[list[int]] = [[] for _ in range(count)]

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)  # type: ignore[operator]

    workers = [Background(run, i) for i in range(count)]
    for w in workers:
        w.start(settle=0)
    for w in workers:
        w.join(15)
    return results


def hammer_server(clients: int, each: int) -> tuple[list[list[int]], int]:
    server = CounterServer()
    Background(server.serve_forever).start(settle=0)

    def client(_: int) -> list[int]:
        with connect(server.address, timeout=10) as sock:
            sock.sendall(b"INCR\n" * each)  # pipelined: many commands in flight
            replies = b""
            while replies.count(b"\n") < each:
                replies += recv_until(sock, b"\n")
            return [int(x) for x in replies.split()]

    results = in_threads(clients, client)
    with connect(server.address) as sock:
        sock.sendall(b"GET\n")
        final = int(recv_until(sock, b"\n"))
    server.close()
    return results, final


@points(3)
def test_counter_counts_every_increment() -> None:
    counter = Counter()
    results = in_threads(8, lambda _: [counter.increment() for _ in range(300)])
    expect(counter.value, 2400, "Counter.value after 8 threads x 300 increments")
    returned = sorted(v for r in results for v in r)
    expect(returned == list(range(1, 2401)), True,
           "every increment() returns its own new value (1..2400, each once)")


@points(4)
def test_server_counts_every_incr() -> None:
    _, final = hammer_server(clients=8, each=150)
    expect(final, 1200, "GET after 8 clients x 150 INCR")


@points(3)
def test_every_incr_gets_its_own_number() -> None:
    results, _ = hammer_server(clients=6, each=100)
    replies = sorted(v for r in results for v in r)
    duplicates = len(replies) - len(set(replies))
    expect(duplicates, 0, "INCR replies that another client also got")
    expect(replies == list(range(1, 601)), True, "the INCR replies are exactly 1..600")
