"""The C load clients: built on demand with the machine's C compiler.

A load generator must be faster than the server it measures. For Python
servers that takes C: `c/echo_client.c` and `c/http_client.c` are lean epoll
clients (N connections, one request in flight on each, every response
checked, a latency histogram), and `c/echo_server.c` is the trivial C
reference server the benchmarks compare against. They ship with the package
as source and are compiled the first time they are needed, into a cache
folder ($MINIREACTOR_CACHE, else ~/.cache/minireactor/bin). Without a C
compiler the lab falls back to its Python generator (`load_python.py`).

Read next: `load_native.py`, which runs them (`engine="c"`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

C_DIR = Path(__file__).resolve().parent / "c"
SOURCES = {
    "echo_client": C_DIR / "echo_client.c",
    "echo_server": C_DIR / "echo_server.c",
    "http_client": C_DIR / "http_client.c",
}
# Headers the sources include: a change to one rebuilds every binary.
HEADERS = [C_DIR / "loadgen.h"]
CFLAGS = ["-O2", "-Wall", "-Wextra", "-std=gnu11"]


class BuildError(RuntimeError):
    """A C program could not be built (no compiler, or it failed)."""


def cache_dir() -> Path:
    """Where the binaries go: $MINIREACTOR_CACHE, else ~/.cache/minireactor/bin."""
    root = os.environ.get("MINIREACTOR_CACHE") or Path.home() / ".cache" / "minireactor"
    return Path(root) / "bin"


def gcc_path() -> str | None:
    """Where the C compiler is (honouring $CC), or None when there is none."""
    return shutil.which(os.environ.get("CC", "gcc"))


def ensure_built(name: str, bin_dir: Path | None = None) -> Path:
    """Return the path of the binary `name`, compiling it first if needed.

    A binary is rebuilt when missing or older than its source, and written
    under a temporary name then renamed, so two processes starting at once
    never run a half-written file.

    Args:
        name: a key of `SOURCES` ("echo_client", "echo_server", "http_client").
        bin_dir: where to put it (default: `cache_dir()`).

    Raises:
        BuildError: no compiler, or the compilation failed; the message says
            how to fix it.
    """
    source = SOURCES[name]
    bin_dir = bin_dir if bin_dir is not None else cache_dir()
    binary = bin_dir / name
    newest_input = max(path.stat().st_mtime for path in [source, *HEADERS])
    if binary.exists() and binary.stat().st_mtime >= newest_input:
        return binary
    compiler = gcc_path()
    if compiler is None:
        raise BuildError(
            f"gcc was not found, and {name} must be built from {source.name}. Install it "
            "(Debian/Ubuntu: `apt-get install gcc`) or set $CC to a C compiler, then run again."
        )
    bin_dir.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f".{name}.{os.getpid()}.tmp")
    command = [compiler, *CFLAGS, "-o", str(partial), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BuildError(f"building {name} failed:\n$ {' '.join(command)}\n{result.stderr}")
    partial.replace(binary)
    return binary
