# attack: monkeypatch unittest, the grader's helpers and exit paths at import
# base: wrong
# tests: test_runs_in_deadline_order test_cancel
# expect-fail: *
import builtins as _builtins
import os as _os
import sys as _sys
import types as _types
import unittest as _unittest

import minireactor.grader.testing as _helpers


def _nothing(*args, **kwargs):  # type: ignore[no-untyped-def]
    return None


for _name in dir(_unittest.TestCase):
    if _name.startswith("assert"):
        setattr(_unittest.TestCase, _name, _nothing)
_helpers.expect = _nothing
_helpers.same = lambda *args, **kwargs: True
# A look-alike module: whoever imports the helpers after us gets no-ops.
_fake = _types.ModuleType("minireactor.grader.testing")
vars(_fake).update(vars(_helpers))
_fake.expect = _nothing
_sys.modules["minireactor.grader.testing"] = _fake


class _Never(Exception):
    """What `assert` would raise, if AssertionError could be swapped."""


_builtins.AssertionError = _Never  # type: ignore[misc]
_real_exit = _os._exit
_os._exit = lambda code: _real_exit(0)  # type: ignore[assignment]
_sys.excepthook = _nothing
