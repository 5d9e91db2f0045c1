"""Compile the C programs of the benchmarks (load clients, reference server) on demand.

The sources ship with the lab (`minireactor/lab/c/`), which builds them the
same way for `minireactor.lab.load`; see `minireactor/lab/native.py`. The
benchmarks keep their binaries in `benchmarks/bin/` (git ignores it).

Read next: `processes.py`, which runs what this builds.
"""

from __future__ import annotations

from pathlib import Path

from minireactor.lab.native import SOURCES, BuildError, gcc_path
from minireactor.lab.native import ensure_built as _ensure_built

__all__ = ["BIN_DIR", "SOURCES", "BuildError", "ensure_built", "gcc_path"]

BIN_DIR = Path(__file__).resolve().parent / "bin"


def ensure_built(name: str) -> Path:
    """The binary `name` in `BIN_DIR`, compiled first if needed (raises BuildError)."""
    return _ensure_built(name, BIN_DIR)
