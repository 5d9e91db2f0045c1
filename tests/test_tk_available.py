"""Is the tk backend usable here? Decided without asking `tk_problem()` itself.

Every Tk test skips when `tk_problem()` reports a problem (conftest's
`_TK_SKIP`), so a `tk_problem()` that wrongly said "no Tk here" would make
them all skip, and the suite pass. This test is not skipped that way: with
tkinter importable and a DISPLAY set, `tk_problem()` must say nothing.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from minireactor.backends.tk import tk_problem


@pytest.mark.skipif(importlib.util.find_spec("_tkinter") is None, reason="no tkinter here")
def test_tkinter_and_a_display_make_tk_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", os.environ.get("DISPLAY") or ":99")  # only its presence counts
    assert tk_problem() is None
