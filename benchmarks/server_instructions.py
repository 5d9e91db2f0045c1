"""Instructions per request inside an echo server, counted by callgrind.

    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=8388608 \\
        python -m benchmarks.server_instructions asyncio-protocol minireactor-epoll

Each named server (the names of `python -m benchmarks.echo`) runs under
`valgrind --tool=callgrind` on CPU 0 while the C echo client (100
connections x 1 KiB, CPU 1) loads it twice, for a short and a long run;
(instructions of the long run - of the short) / (requests of the long -
of the short) is the server's user-space work per request, start-up and
shutdown cancelled out. Instruction counts do not depend on what else the
machine is doing, so this is the figure to compare servers by when the
timed CPU figures of `echo.py` drown in a shared machine's noise. (They
are not seconds: cache misses and system calls are not in them.)

The GLIBC_TUNABLES line fixes glibc's mmap threshold, so stock asyncio's
256 KiB reads come from the heap rather than mmap (README.md, "The 256 KiB
read"): the servers are compared on their own work, not glibc's.

Read next: `hot_path.py`, the same count for minireactor alone, in one
process, with no load client.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess

from benchmarks.processes import REPO_ROOT, python_env
from benchmarks.servers import catalog
from minireactor.lab import native


def count(argv: list[str], client: str, duration: float) -> tuple[int, int]:
    """(instructions, requests) of one server process under `duration` s of load."""
    out = f"/tmp/callgrind-server-{os.getpid()}.out"
    valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    server = subprocess.Popen(
        ["taskset", "-c", "0", *valgrind, *argv, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env(),
        cwd=REPO_ROOT,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])  # "READY <port>"
        load = [client, "--port", str(port), "--size", "1024", "--connections", "100"]
        done = subprocess.run(
            ["taskset", "-c", "1", *load, "--duration", str(duration), "--warmup", "0"],
            capture_output=True,
            text=True,
            check=True,
        )
        requests = int(json.loads(done.stdout.strip().splitlines()[-1])["requests"])
    finally:
        server.terminate()
        _, err = server.communicate(timeout=300)
        if os.path.exists(out):
            os.unlink(out)
    refs = re.search(r"refs:\s+([\d,]+)", err)
    if refs is None:
        raise RuntimeError(f"callgrind printed no total: {err[-500:]}")
    return int(refs.group(1).replace(",", "")), requests


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server_instructions")
    parser.add_argument("servers", nargs="+", help="names as in benchmarks.echo")
    parser.add_argument("--short", type=float, default=2.0, help="seconds of the short run")
    parser.add_argument("--long", type=float, default=8.0, help="seconds of the long run")
    args = parser.parse_args()
    specs = {spec.name: spec for spec in catalog()}
    client = str(native.ensure_built("echo_client"))
    for name in args.servers:
        argv = specs[name].argv
        short, long = count(argv, client, args.short), count(argv, client, args.long)
        per_request = (long[0] - short[0]) / (long[1] - short[1])
        print(f"{name:24} {per_request:9,.0f} instructions per request ({short[1]}, {long[1]})")


if __name__ == "__main__":
    main()
