"""Every server model, started as a subprocess, answers the load generator correctly."""

from __future__ import annotations

import socket

import pytest

import minireactor
from minireactor.lab import SERVER_MODELS, LabError, load, native, serve

# Models that tie a worker to a connection serve echo one connection at a
# time: the generator must reconnect per message or the others would starve.
ONE_CONNECTION_AT_A_TIME = {"iterative", "thread_pool", "prefork"}


def refuses(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=2.0).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workload", ["http", "echo"])
@pytest.mark.parametrize("model", SERVER_MODELS)
def test_model_answers_the_load_generator(model: str, workload: str) -> None:
    keepalive = workload == "http" or model not in ONE_CONNECTION_AT_A_TIME
    with serve(model, workload=workload, workers=2) as address:
        result = load(
            address,
            workload,
            clients=3,
            duration=0.4,
            processes=0,
            keepalive=keepalive,
            engine="python",  # the C client has its own test below
        )
    assert result.errors == 0 and result.timeouts == 0, result.error_samples
    assert result.requests > 3
    assert result.p50 <= result.p99 <= result.max
    assert refuses(address)  # stopped, and nothing (no prefork child) still listens


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", minireactor.available_backends())
def test_minireactor_model_on_each_backend(backend: str) -> None:
    with serve("minireactor", workload="http", backend=backend) as address:
        result = load(address, "http", clients=3, duration=0.3, path="/page/5", processes=0)
    assert result.errors == 0 and result.requests > 0, result.error_samples


@pytest.mark.timeout(60)
@pytest.mark.skipif(native.gcc_path() is None, reason="no C compiler to build the C load client")
@pytest.mark.parametrize("workload", ["echo", "http"])
def test_c_load_client_checks_every_answer(workload: str) -> None:
    with serve("minireactor", workload=workload) as address:
        result = load(address, workload, clients=4, duration=0.4, engine="c")
        assert result.errors == 0 and result.requests > 4 and result.engine == "c"
        assert len(result.latencies) == result.requests  # the whole histogram came back
        assert 0 < result.p50 <= result.p99 <= result.max
        with pytest.raises(LabError, match="closed loops"):
            load(address, workload, clients=1, duration=0.2, rate=10, engine="c")
    with serve("minireactor", workload="echo") as address:
        wrong = load(address, "http", clients=1, duration=0.3, engine="c")  # echo is no HTTP
    assert wrong.requests == 0 and wrong.errors > 0


@pytest.mark.timeout(60)
def test_cpu_route_and_generator_subprocess() -> None:
    with serve("threads", workload="http") as address:
        result = load(address, "http", clients=2, duration=0.5, path="/fib/15", processes=1)
    assert result.errors == 0 and result.requests > 0, result.error_samples


@pytest.mark.timeout(60)
def test_open_loop_sends_at_the_rate_asked() -> None:
    with serve("minireactor", workload="echo") as address:
        result = load(address, "echo", clients=4, duration=1.0, rate=100, processes=0)
    assert result.errors == 0
    assert 50 <= result.requests + result.unsent <= 102  # 100 due in 1 s (0..100 inclusive)


def test_a_wrong_answer_is_an_error_not_a_success() -> None:
    with serve("minireactor", workload="echo") as address:
        # Ask for HTTP from an echo server: it sends back the request, not a response.
        result = load(address, "http", clients=1, duration=0.3, timeout=0.2, processes=0)
    assert result.requests == 0
    assert result.errors + result.timeouts > 0


def test_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for model in ("threads", "minireactor", "asyncio"):
            with pytest.raises(LabError, match="in use"), serve(model, port=port):
                pass


def test_bad_model_and_unreachable_server() -> None:
    with pytest.raises(LabError, match="choose from"), serve("fibers"):
        pass
    with pytest.raises(LabError, match="cannot connect"):
        load(("127.0.0.1", 9), "http", clients=1, duration=0.1)


def _get(sock: socket.socket, path: str = "/") -> bytes:
    """One GET on `sock`; the whole response (head and body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: lab\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 5:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    return data


@pytest.mark.timeout(60)
@pytest.mark.parametrize("model", SERVER_MODELS)
def test_every_model_keeps_connections_alive_with_the_same_headers(model: str) -> None:
    """The comparison is fair: same protocol, same header names, whatever the model."""
    with serve(model, workload="http", workers=2) as address:
        sock = socket.create_connection(address, timeout=10.0)
        with sock:
            first, second = _get(sock), _get(sock)  # two requests, one connection
    for response in (first, second):
        head, body = response.split(b"\r\n\r\n", 1)
        names = sorted(line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:])
        assert names == [b"content-length", b"content-type", b"date", b"server"], head
        assert body == b"hello"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workload", ["http", "echo"])
def test_minireactor_model_on_the_hosted_asyncio_backend(workload: str) -> None:
    """The backend a notebook uses serves the same workload (asyncio's loop waiting)."""
    with serve("minireactor", workload=workload, backend="asyncio") as address:
        result = load(address, workload, clients=3, duration=0.3, engine="python")
    assert result.errors == 0 and result.starved == 0 and result.requests > 0, result.explain()
    assert refuses(address)
