#!/usr/bin/env python3
"""Strip a notebook's outputs before committing it, keeping only the checked ones.

    .venv/bin/python notebooks/clean.py notebooks/05-minireactor.ipynb        # strip
    .venv/bin/python notebooks/clean.py --run notebooks/05-minireactor.ipynb  # re-run, then strip
    .venv/bin/python notebooks/clean.py --run notebooks/*.ipynb               # all of them

Without --run, the outputs of cells marked `# NBVAL_CHECK_OUTPUT` are kept as
they are (they must come from a real run) and every other output, execution
count, cell metadata and the widget state a run saves is removed. With --run,
the notebook is first executed top to bottom in quick mode
(MINIREACTOR_QUICK=1, as the tests run it), so the checked cells get fresh
outputs; their plots are dropped, their text kept.
Then check with `.venv/bin/python -m pytest notebooks/NN-name.ipynb`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

MARK = "NBVAL_CHECK_OUTPUT"


def strip(nb: nbformat.NotebookNode) -> None:
    """Keep the text outputs of checked cells; drop everything else."""
    nb.metadata.pop("widgets", None)  # the widget state a run leaves (nbclient stores it)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata = {}
        if MARK in cell.source:
            # nbval skips comparing a cell without an execution count ("unrun").
            cell.outputs = [o for o in cell.outputs if o.output_type != "display_data"]
        else:
            cell.outputs = []
            cell.execution_count = None


def run(nb: nbformat.NotebookNode, path: Path) -> None:
    from nbclient import NotebookClient

    os.environ.setdefault("MINIREACTOR_QUICK", "1")
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--run", action="store_true", help="execute first (quick mode)")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.run:
            print(f"running {path} ...", flush=True)
            run(nb, path)
        strip(nb)
        nbformat.write(nb, path)
        print(f"cleaned {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
