"""A long fuzzing run of every parser and of the HTTP server protocol.

    python -m benchmarks.fuzz                     # 20,000 examples per fuzz test
    python -m benchmarks.fuzz --examples 100000

The test suite runs the same hypothesis tests with about a thousand examples
each; this command runs them with many more, by setting
MINIREACTOR_FUZZ_EXAMPLES (read by tests/conftest.py's `fuzz_examples`).
Nothing may escape into the reactor: bad input gets a 4xx and a closed
connection (HTTP) or a closed connection with a clear reason (framing).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ_TESTS = [
    "tests/test_fuzz.py",
    "tests/test_http_parser.py::test_random_bytes_raise_only_parse_errors",
    "tests/test_http_parser.py::test_mutated_requests_raise_only_parse_errors",
    "tests/test_basic.py::test_random_bytes_never_raise",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=20_000, help="per fuzz test")
    args = parser.parse_args(argv)
    env = {**os.environ, "MINIREACTOR_FUZZ_EXAMPLES": str(args.examples)}
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=3600"]
    command = [*pytest, "--hypothesis-show-statistics", *FUZZ_TESTS]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
