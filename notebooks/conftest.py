"""pytest settings for the notebooks (run by nbval, see notebooks/README.md).

`pytest` from the repository root runs tests/ and then these notebooks, one
kernel per notebook, with `--nbval-lax` (set in pyproject.toml): every cell
must run without error, and only the cells marked `# NBVAL_CHECK_OUTPUT` have
their outputs compared with the stored ones.

Here we add two things:

* quick mode: MINIREACTOR_QUICK=1 unless you set it yourself, so the whole
  workbook runs in a few minutes (`MINIREACTOR_QUICK=0 pytest notebooks/`
  runs the classroom-sized experiments instead);
* the sanitize file, which blanks ports, addresses and timings before
  outputs are compared, found wherever pytest is started from.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbval_sanitize_with", "") is None:
        config.option.nbval_sanitize_with = str(HERE / "nbval-sanitize.cfg")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Set before the notebook's kernel starts (in its first cell's setup);
    # the kernel inherits our environment.
    os.environ.setdefault("MINIREACTOR_QUICK", "1")
