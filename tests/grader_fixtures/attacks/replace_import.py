# attack: replace builtins.__import__ (and add a meta-path finder) to serve a fake helpers module
# base: wrong
# tests: test_runs_in_deadline_order test_cancel
# expect-fail: *
import builtins as _builtins
import sys as _sys
import types as _types

_real_import = _builtins.__import__
_fake = _types.ModuleType("minireactor.grader.testing")
_fake.expect = lambda *args, **kwargs: None
_fake.same = lambda *args, **kwargs: True
_fake.points = lambda value, **kwargs: (lambda test: test)


def _import(name, globals=None, locals=None, fromlist=(), level=0):  # type: ignore[no-untyped-def]
    if name == "minireactor.grader.testing":
        return _fake
    return _real_import(name, globals, locals, fromlist, level)


_builtins.__import__ = _import


class _Finder:
    @staticmethod
    def find_spec(name, path=None, target=None):  # type: ignore[no-untyped-def]
        return None


_sys.meta_path.insert(0, _Finder)
