"""Compile the C programs of the benchmarks (load client, reference server) on demand.

The sources live in `benchmarks/c/`; binaries go to `benchmarks/bin/`, which
git ignores. A binary is rebuilt when it is missing or older than its source,
and is written under a temporary name then renamed, so two harnesses
starting at once never run a half-written file.

Read next: `processes.py`, which runs what this builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN_DIR = HERE / "bin"
SOURCES = {
    "echo_client": HERE / "c" / "echo_client.c",
    "echo_server": HERE / "c" / "echo_server.c",
    "http_client": HERE / "c" / "http_client.c",
}
# Headers the sources include: a change to one rebuilds every binary.
HEADERS = [HERE / "c" / "loadgen.h"]
CFLAGS = ["-O2", "-Wall", "-Wextra", "-std=gnu11"]


class BuildError(RuntimeError):
    """A C program of the benchmarks could not be built."""


def gcc_path() -> str | None:
    """Where gcc is (honouring $CC), or None when it is not installed."""
    return shutil.which(os.environ.get("CC", "gcc"))


def ensure_built(name: str) -> Path:
    """Return the path of the binary `name`, compiling it first if needed.

    Args:
        name: a key of `SOURCES` ("echo_client", "echo_server", "http_client").

    Raises:
        BuildError: gcc is missing or the compilation failed; the message says
            how to fix it.
    """
    source = SOURCES[name]
    binary = BIN_DIR / name
    newest_input = max(path.stat().st_mtime for path in [source, *HEADERS])
    if binary.exists() and binary.stat().st_mtime >= newest_input:
        return binary
    compiler = gcc_path()
    if compiler is None:
        raise BuildError(
            "gcc was not found, and the echo benchmark needs it to build its C load client "
            f"({source.relative_to(HERE.parent)}). Install it (Debian/Ubuntu: "
            "`apt-get install gcc`) or set $CC to a C compiler, then run again."
        )
    BIN_DIR.mkdir(exist_ok=True)
    partial = binary.with_name(f".{name}.{os.getpid()}.tmp")
    command = [compiler, *CFLAGS, "-o", str(partial), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BuildError(f"building {name} failed:\n$ {' '.join(command)}\n{result.stderr}")
    partial.replace(binary)
    return binary
