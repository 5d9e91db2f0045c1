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
from .load_plan import LoadPlan
from .load_result import LoadResult
from .procs import LabError


def _use_c(engine: str, plan: LoadPlan) -> bool:
    """Decide between the C and the Python generator for `plan` (see `load`'s `engine`)."""
    if engine not in ("auto", "c", "python"):
        raise LabError(f"engine must be 'auto', 'c' or 'python', not {engine!r}")
    if engine == "python":
        return False
    closed_keepalive = plan.rate is None and plan.keepalive
    if engine == "c":
        if not closed_keepalive:
            raise LabError(
                "the C load client runs closed loops on kept-alive connections only: "
                "use engine='python' for rate= or keepalive=False"
            )
        return True
    return closed_keepalive and plan.protocol == "echo" and native.gcc_path() is not None


def _run_c(plan: LoadPlan, cpu: int | None) -> LoadResult:
    """Run `plan` on the C client (`native.py`) and read its report into a LoadResult.

    The C client runs closed loops on kept-alive connections only: it reads
    no `rate`, `timeout` or `keepalive` (`_use_c` sends it no other plan).
    """
    try:
        binary = native.ensure_built("echo_client" if plan.protocol == "echo" else "http_client")
    except native.BuildError as exc:
        raise LabError(str(exc)) from None
    host, port = plan.address
    argv = [str(binary), "--host", host, "--port", str(port), "--connections", str(plan.clients)]
    argv += ["--duration", str(plan.duration), "--warmup", "0"]
    if plan.protocol == "echo":
        argv += ["--size", str(plan.size)]
    else:
        argv += ["--path", plan.path, "--expect", expected_body(plan.path).decode("latin-1")]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=plan.duration + 60,
        preexec_fn=pin,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"the C load client failed: {proc.stderr.strip() or proc.returncode}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    result = LoadResult(plan.protocol, plan.clients, float(data["duration_s"]), engine="c")
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
