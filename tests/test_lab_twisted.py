"""Twisted, unchanged, on its own reactor, on asyncio's loop and on minireactor.aio."""

from __future__ import annotations

import importlib.util

import pytest

from minireactor.lab.procs import LabError
from minireactor.lab.twisted_loops import TWISTED_LOOPS, compare_twisted_loops, run_twisted_echo

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("twisted") is None,
    reason="Twisted is not installed (the 'peers' extra)",
)


@pytest.mark.timeout(120)
def test_twisted_echo_runs_on_every_loop() -> None:
    results = compare_twisted_loops(clients=3, messages=50)
    assert list(results) == list(TWISTED_LOOPS)
    for loop, result in results.items():
        assert result["loop"] == loop and "error" not in result
        assert result["round_trips"] == 150 and result["seconds"] > 0
    # Hosted on an asyncio loop, Twisted runs its asyncioreactor, whichever loop that is.
    assert results["asyncio"]["reactor"] == results["minireactor"]["reactor"]
    assert results["twisted"]["reactor"] != "AsyncioSelectorReactor"


def test_an_unknown_loop_is_a_clear_error() -> None:
    with pytest.raises(LabError, match="twisted, asyncio, minireactor"):
        run_twisted_echo("libuv", 1, 1)
    with pytest.raises(LabError, match="libuv"):
        compare_twisted_loops(loops=("libuv",))
