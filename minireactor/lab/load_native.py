"""The C load client as an engine of `load()`: when to use it, and running it.

`load(..., engine="c")` (or "auto" on a closed-loop echo load with a C
compiler at hand) runs one of the lean C clients that `native.py` builds,
instead of the Python generator in `load_python.py`. `_use_c` makes that
choice; `_run_c` runs the binary, whose last line of output is JSON (its
counts and a latency histogram), and reads that into a `LoadResult`.

Read next: `native.py`, which builds the binaries, and `c/loadgen.h`, what
the two C clients share.
"""

from __future__ import annotations

import json
import os
import subprocess

from . import native
from .handlers import expected_body
from .load_result import LoadResult
from .procs import LabError


def _use_c(engine: str, protocol: str, rate: float | None, keepalive: bool) -> bool:
    """Decide between the C and the Python generator (see `load`'s `engine`)."""
    if engine not in ("auto", "c", "python"):
        raise LabError(f"engine must be 'auto', 'c' or 'python', not {engine!r}")
    if engine == "python":
        return False
    closed_keepalive = rate is None and keepalive
    if engine == "c":
        if not closed_keepalive:
            raise LabError(
                "the C load client runs closed loops on kept-alive connections only: "
                "use engine='python' for rate= or keepalive=False"
            )
        return True
    return closed_keepalive and protocol == "echo" and native.gcc_path() is not None


def _run_c(
    address: tuple[str, int],
    protocol: str,
    clients: int,
    duration: float,
    path: str,
    size: int,
    cpu: int | None,
) -> LoadResult:
    """Run the C client (`native.py`) and read its report into a LoadResult."""
    try:
        binary = native.ensure_built("echo_client" if protocol == "echo" else "http_client")
    except native.BuildError as exc:
        raise LabError(str(exc)) from None
    argv = [str(binary), "--host", address[0], "--port", str(address[1])]
    argv += ["--connections", str(clients), "--duration", str(duration), "--warmup", "0"]
    if protocol == "echo":
        argv += ["--size", str(size)]
    else:
        argv += ["--path", path, "--expect", expected_body(path).decode("latin-1")]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, preexec_fn=pin, check=False
    )
    if proc.returncode != 0:
        raise LabError(f"the C load client failed: {proc.stderr.strip() or proc.returncode}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    result = LoadResult(protocol, clients, float(data["duration_s"]), engine="c")
    result.requests = int(data["requests"])
    result.errors = int(data["errors"])
    result.starved = int(data["stalled"])  # alive all along, never answered: starved
    if result.errors:  # the C client counts failures but keeps no messages
        result.error_samples.append(
            f"{result.errors} connections failed or were reset (the C client keeps no "
            "messages: run with engine='python' to see them)"
        )
    for micros, count in data["hist"]:  # bucket midpoints: the histogram's resolution
        result.latencies.extend([micros / 1e6] * count)
    return result
