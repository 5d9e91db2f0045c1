"""The load generator names what happened: starved connections are not errors.

A server that serves a bounded number of connections at a time leaves the
others waiting for the whole run. Those are `starved`, with a sentence in
`summary()` saying so, while `errors` stays for wrong answers and broken
connections, and always comes with a sample message.
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import asdict, fields, replace

import pytest

from minireactor.lab import LabError, load, native, serve
from minireactor.lab.load import _child_argv, _child_parser, idle_connections
from minireactor.lab.load_plan import LoadPlan
from minireactor.lab.load_result import LoadResult

ENGINES = [
    "python",
    pytest.param(
        "c",
        marks=pytest.mark.skipif(
            native.gcc_path() is None, reason="no C compiler for the C client"
        ),
    ),
]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("engine", ENGINES)
def test_iterative_starves_all_but_one_client(engine: str) -> None:
    with serve("iterative", workload="echo") as address:
        result = load(address, "echo", clients=20, duration=0.5, engine=engine)
    # One connection holds the only worker for the whole run; 19 never get a turn.
    assert result.starved == 19
    assert result.errors == 0 and result.error_samples == []
    assert result.requests > 0
    summary = result.summary()
    assert summary["starved"] == 19 and summary["errors"] == 0
    assert "19 of 20 connections were never served" in summary["explanation"]


@pytest.mark.timeout(90)
@pytest.mark.parametrize(("model", "workers"), [("thread_pool", 2), ("prefork", 2)])
def test_bounded_models_starve_beyond_their_workers(model: str, workers: int) -> None:
    with serve(model, workload="http", workers=workers) as address:
        result = load(address, "http", clients=5, duration=0.5)
    assert result.starved == 5 - workers  # each worker holds one kept-alive connection
    assert result.errors == 0 and result.timeouts == 0, result.error_samples


@pytest.mark.timeout(60)
@pytest.mark.parametrize("model", ["threads", "asyncio", "minireactor"])
def test_unbounded_models_starve_nobody(model: str) -> None:
    with serve(model, workload="http") as address:
        result = load(address, "http", clients=20, duration=0.5, engine="python")
    assert result.starved == 0 and result.errors == 0, result.explain()
    assert result.explain() == ""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("engine", ENGINES)
def test_errors_always_come_with_a_sample(engine: str) -> None:
    with serve("minireactor", workload="echo") as address:
        # HTTP asked of an echo server: every answer is wrong.
        result = load(address, "http", clients=2, duration=0.3, timeout=0.2, engine=engine)
    assert result.requests == 0 and result.errors > 0
    assert result.error_samples, "errors without a single message to explain them"
    assert "failed" in result.explain()


def test_explain_names_every_kind_of_trouble() -> None:
    result = LoadResult("http", 10, 2.0, starved=3, errors=2, timeouts=1, unsent=4)
    result.error_samples = ["receive failed: reset"]
    text = result.explain()
    assert "3 of 10 connections were never served" in text
    assert "2 requests failed" in text and "reset" in text
    assert "1 requests got no answer" in text and "4 requests fell due" in text
    alone = LoadResult("echo", 1, 0.5, starved=1).explain()
    assert alone.startswith("1 of 1 connection was never served") and "it waited" in alone
    merged = LoadResult("http", 1, 2.0, starved=1)
    merged.merge(result)
    assert merged.starved == 4 and merged.clients == 11


@pytest.mark.timeout(60)
def test_idle_connections_are_held_during_the_run() -> None:
    with serve("minireactor", workload="echo") as address:
        with idle_connections(address, 50) as socks:
            assert len(socks) == 50 and all(s.fileno() >= 0 for s in socks)
        assert all(s.fileno() == -1 for s in socks)  # closed on leaving
        result = load(address, "echo", clients=2, duration=0.3, idle=50, engine="python")
    assert result.requests > 0 and result.errors == 0
    with pytest.raises(LabError, match="idle"):
        load(address, "echo", clients=1, duration=0.1, idle=-1)


@pytest.mark.timeout(60)
def test_open_loop_clients_without_work_are_not_starved() -> None:
    with serve("minireactor", workload="echo") as address:
        # 5 requests due over the run, 40 connections: most never get one to send.
        result = load(address, "echo", clients=40, duration=0.5, rate=10, engine="python")
    assert result.starved == 0 and result.errors == 0, result.explain()


def test_each_process_gets_its_share_of_every_field_of_the_plan() -> None:
    # Every field differs from load()'s default, so a field lost on the way
    # cannot pass by coming back as its default.
    plan = LoadPlan(
        address=("::1", 8123),
        protocol="echo",
        clients=7,
        duration=1.25,
        rate=300.0,
        path="/page/3?q=a b",
        size=513,
        timeout=0.75,
        keepalive=False,
    )
    defaults = inspect.signature(load).parameters
    assert {f.name for f in fields(LoadPlan)} <= set(defaults), "main calls load(**asdict(plan))"
    for name, value in asdict(plan).items():
        assert value != defaults[name].default, f"pick a value of {name} other than the default"
    shares = [plan.share(i, 3) for i in range(3)]
    for share in shares:
        argv = _child_argv(share, cpu=1)
        assert argv[:4] == [sys.executable, "-m", "minireactor.lab", "load"]
        args = _child_parser().parse_args(argv[4:])
        assert args.plan == share and args.cpu == 1
        assert _child_parser().parse_args(_child_argv(share, None)[4:]).cpu is None
    assert [s.clients for s in shares] == [3, 2, 2] and [s.rate for s in shares] == [100.0] * 3
    assert {replace(s, clients=plan.clients, rate=plan.rate) for s in shares} == {plan}
    closed = replace(plan, rate=None)
    assert closed.share(2, 3).rate is None


@pytest.mark.timeout(60)
def test_processes_share_the_clients_and_the_rate() -> None:
    with serve("minireactor", workload="http") as address:
        result = load(address, "http", clients=3, duration=0.5, rate=40, processes=2)
    assert result.clients == 3 and result.rate == 40.0
    assert result.requests > 0 and result.errors == 0, result.explain()


@pytest.mark.timeout(60)
def test_a_generator_process_runs_the_python_generator(capsys: pytest.CaptureFixture[str]) -> None:
    """The parent splits a load over processes only for the Python generator.

    A closed-loop echo load is one "auto" would give the C client; the child
    used to decide again, with "auto", and ran C while the parent reported
    "python".
    """
    from minireactor.lab.load import main

    with serve("minireactor", workload="echo") as address:
        plan = LoadPlan(address, "echo", 2, 0.3, None, "/", 64, 5.0, True)
        assert main([plan.to_json()]) == 0
    child = json.loads(capsys.readouterr().out)
    assert child["engine"] == "python" and child["requests"] > 0
