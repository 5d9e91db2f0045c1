"""A hung test run ends, and says where it hung (dev.py's time budget, conftest's SIGUSR1).

CI once ran out of its 90 minutes with nothing to show for it: one stuck
test held the whole run. Under `--all-pythons`, dev.py now ends a run that
outlives MINIREACTOR_TEST_BUDGET seconds, after every test process has
printed its threads' stacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(120)


@pytest.mark.skipif(
    os.environ.get("MINIREACTOR_HANG_ON_PURPOSE") != "1", reason="only inside the test below"
)
@pytest.mark.timeout(0)
def test_hangs_on_purpose() -> None:
    threading.Event().wait()


def within_budget(args: list[str], budget: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """dev.call_within(args, budget) in a child, its output captured; and how long it took."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dev; "
        "sys.exit(dev.call_within(sys.argv[3:], float(sys.argv[2])))"
    )
    env = dict(os.environ, MINIREACTOR_HANG_ON_PURPOSE="1")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(budget), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    return done, time.monotonic() - started


def test_a_run_within_its_budget_keeps_its_exit_code() -> None:
    done, _ = within_budget([sys.executable, "-c", "raise SystemExit(3)"], 30)
    assert done.returncode == 3


def test_a_hung_pytest_run_prints_where_it_hangs_and_ends() -> None:
    here = Path(__file__).name
    done, took = within_budget(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"tests/{here}::test_hangs_on_purpose",
        ],
        8,
    )
    assert done.returncode == 124, done.stdout + done.stderr
    assert took < 40
    assert "taken for a hang" in done.stdout
    # conftest.py's faulthandler, on SIGUSR1: the stuck test's own line.
    assert f'{here}", line' in done.stderr and "test_hangs_on_purpose" in done.stderr, done.stderr
