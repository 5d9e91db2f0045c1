#!/usr/bin/env python3
"""Set up and run minireactor on a fresh machine with nothing but Python 3.11+.

    python3 dev.py workbook    # install, then open the notebooks in JupyterLab
    python3 dev.py test        # install, then run the whole test suite

Both create a virtual environment in .venv (once), install the project into
it in editable mode with the extras they need, and then run. Extra arguments
after the command are passed on (to `jupyter lab` or to `pytest`).

This file is only a convenience around three standard commands; read it to
see them. It uses the standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
EXTRAS = {
    "workbook": "notebooks,lab",
    "test": "dev,notebooks,lab,peers,dask",
}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install(extras: str) -> None:
    """Create .venv if needed and install the project with `extras` into it."""
    if sys.version_info < (3, 11):
        sys.exit(f"minireactor needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not venv_python().exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    pyproject = ROOT / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= pyproject.stat().st_mtime:
        return  # already installed and pyproject.toml has not changed since
    print(f"installing minireactor[{extras}] into {VENV}", flush=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[{extras}]"], check=True)
    stamp.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    install(EXTRAS[command])
    python = str(venv_python())
    if command == "workbook":
        args = [python, "-m", "jupyter", "lab", str(ROOT / "notebooks" / "00-start-here.ipynb")]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # containers and classroom VMs often run as root
    else:
        args = [python, "-m", "pytest", *rest]
    os.chdir(ROOT)
    return subprocess.call(args + (rest if command == "workbook" else []))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
