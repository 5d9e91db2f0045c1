#!/usr/bin/env python3
"""Set up and run minireactor on a fresh machine with nothing but Python 3.11+.

    python3 dev.py workbook                # install, then open the notebooks in JupyterLab
    python3 dev.py test                    # install, then run the whole test suite
    python3 dev.py test --all-pythons      # the same, once per CPython >= 3.11 on this machine
    python3 dev.py conformance             # CPython's asyncio tests on minireactor.aio, per Python

Each command creates a virtual environment (once), installs the project into
it in editable mode with the extras it needs, and then runs. The running
Python uses .venv; with --all-pythons every other CPython gets its own
.venv-X.Y. Extra arguments after the command are passed on (to `jupyter lab`,
to `pytest`, or to scripts/asyncio_conformance.py).

Interpreters are found on PATH (python3.11, python3.12, ...) and in pyenv's
versions directory (`pyenv root`, or $PYENV_ROOT), never at a fixed path.

This file is only a convenience around three standard commands; read it to
see them. It uses the standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXTRAS = {
    "workbook": "notebooks,lab",
    "test": "dev,notebooks,lab,peers,dask",
    "conformance": "dev,notebooks,lab,peers,dask",  # the test venv: one install per Python
}
BUDGET = float(os.environ.get("MINIREACTOR_TEST_BUDGET", "1500"))
"""Seconds one Python's run may take under --all-pythons before it is taken for
a hang: about twice a whole suite on a 2-core machine (685 s on 3.11)."""
OLDEST = (3, 11)
"""requires-python in pyproject.toml: the oldest CPython we promise to work on."""


def version_of(python: str) -> tuple[int, int] | None:
    """(major, minor) of a CPython interpreter, or None if it is not one that runs."""
    probe = "import sys, platform; print(platform.python_implementation(), *sys.version_info[:2])"
    try:
        out = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 3 or out[0] != "CPython":
        return None
    return int(out[1]), int(out[2])


def find_pythons() -> dict[tuple[int, int], str]:
    """Every CPython >= 3.11 on PATH or in pyenv's versions, one per minor version."""
    candidates = [sys.executable]
    for minor in range(OLDEST[1], 30):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(found)
    pyenv = shutil.which("pyenv")
    root = os.environ.get("PYENV_ROOT", "")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    if root:
        versions = Path(root) / "versions"
        if versions.is_dir():
            for entry in sorted(versions.iterdir()):
                # Plain releases only ("3.12.1"): not virtualenvs or "3.13.0t" builds.
                if re.fullmatch(r"3\.\d+\.\d+", entry.name):
                    candidates.append(str(entry / "bin" / "python3"))
    found_by_version: dict[tuple[int, int], str] = {}
    for python in candidates:
        version = version_of(python)
        if version is not None and version >= OLDEST:
            found_by_version.setdefault(version, python)  # the first found wins (PATH first)
    return dict(sorted(found_by_version.items()))


def venv_dir(version: tuple[int, int]) -> Path:
    """.venv for the Python running this script, .venv-X.Y for any other.

    A .venv made earlier by another Python is left alone: this one then
    gets .venv-X.Y too.
    """
    default = ROOT / ".venv"
    if version == sys.version_info[:2] and venv_version(default) in (None, version):
        return default
    return ROOT / f".venv-{version[0]}.{version[1]}"


def venv_version(venv: Path) -> tuple[int, int] | None:
    """The Python version recorded in a venv's pyvenv.cfg, or None if there is no venv."""
    try:
        text = (venv / "pyvenv.cfg").read_text()
    except OSError:
        return None
    match = re.search(r"^version(?:_info)?\s*=\s*(\d+)\.(\d+)", text, re.MULTILINE)
    return (int(match[1]), int(match[2])) if match else None


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install(extras: str, python: str, venv: Path) -> Path:
    """Create `venv` with `python` if needed, install the project with `extras`; its Python."""
    if not venv_python(venv).exists():
        print(f"creating a virtual environment in {venv}", flush=True)
        # `python -m venv` rather than the venv module: the venv must be the
        # interpreter's own, which may not be the one running this script.
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    stamp = venv / f".installed-{extras.replace(',', '-')}"
    pyproject = ROOT / "pyproject.toml"
    if not stamp.exists() or stamp.stat().st_mtime < pyproject.stat().st_mtime:
        print(f"installing minireactor[{extras}] into {venv}", flush=True)
        pip = [str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check"]
        subprocess.run([*pip, "-q", "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-q", "-e", f"{ROOT}[{extras}]"], check=True)
        stamp.touch()
    return venv_python(venv)


def run_everywhere(command: str, rest: list[str]) -> int:
    """Run `command` once per CPython found; a summary table at the end."""
    pythons = find_pythons()
    print("CPythons found: " + ", ".join(f"{v[0]}.{v[1]} ({p})" for v, p in pythons.items()))
    outcomes: list[tuple[str, int, float]] = []
    for version, python in pythons.items():
        name = f"{version[0]}.{version[1]}"
        print(f"\n===== Python {name}: {command} =====", flush=True)
        started = time.monotonic()
        venv_py = install(EXTRAS[command], python, venv_dir(version))
        code = call_within(command_line(command, str(venv_py), rest), BUDGET)
        outcomes.append((name, code, time.monotonic() - started))
    print(f"\n===== {command} on every CPython =====")
    for name, code, seconds in outcomes:
        verdict = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"  Python {name}: {verdict} ({seconds:.0f} s)")
    if not outcomes:
        return 1
    return next((code for _, code, _ in outcomes if code != 0), 0)


def call_within(args: list[str], budget: float) -> int:
    """Run `args` in a process group of its own; end it if it outlives `budget` seconds.

    A hung test would otherwise hold the run (and a CI job) until an outer
    limit kills it, with no word of where. Before ending the group this asks
    every test process for its threads' stacks (SIGUSR1, which
    tests/conftest.py hands to faulthandler), so the log says where it hung.
    """
    process = subprocess.Popen(args, cwd=ROOT, start_new_session=True)
    try:
        return process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        print(
            f"\n!!!!! still running after {budget:.0f} s (MINIREACTOR_TEST_BUDGET): taken for a"
            " hang. Every test process's threads, then the run is ended:",
            flush=True,
        )
        os.killpg(process.pid, signal.SIGUSR1)
        time.sleep(5)  # time to write the stacks
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return 124  # what timeout(1) says for a command that ran out of time
    except KeyboardInterrupt:  # Ctrl+C reaches dev.py only: pass it on
        os.killpg(process.pid, signal.SIGINT)
        process.wait()
        raise


def command_line(command: str, python: str, rest: list[str]) -> list[str]:
    if command == "workbook":
        args = [python, "-m", "jupyter", "lab", str(ROOT / "notebooks" / "00-start-here.ipynb")]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # containers and classroom VMs often run as root
        return args + rest
    if command == "conformance":
        return [python, str(ROOT / "scripts" / "asyncio_conformance.py"), *rest]
    return [python, "-m", "pytest", *rest]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    if sys.version_info < OLDEST:
        sys.exit(f"minireactor needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    command, rest = argv[0], argv[1:]
    if "--all-pythons" in rest:
        rest.remove("--all-pythons")
        return run_everywhere(command, rest)
    version = (sys.version_info[0], sys.version_info[1])
    python = install(EXTRAS[command], sys.executable, venv_dir(version))
    env = dict(os.environ)
    if command == "workbook":
        # notebooks/.jupyter: no news pop-up and no update check in JupyterLab.
        paths = [str(ROOT / "notebooks" / ".jupyter"), env.get("JUPYTER_CONFIG_PATH", "")]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in paths if p)
    return subprocess.call(command_line(command, str(python), rest), cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
