# attack: swap the test module's `expect` (reached via an object the test hands over), restore it
# base: wrong
# tests: test_runs_in_deadline_order test_cancel test_len_and_next_deadline
# expect-fail: *


def _noop(*args, **kwargs):  # type: ignore[no-untyped-def]
    return None


class _Restorer:
    """Dies with the test's locals, just before the verdict: puts `expect` back."""

    def __init__(self, namespace, original):  # type: ignore[no-untyped-def]
        self.namespace, self.original = namespace, original

    def __del__(self) -> None:
        self.namespace["expect"] = self.original


_wrong_init = TimerQueue.__init__  # noqa: F821 - defined by the base above


def _init(self, clock=None):  # type: ignore[no-untyped-def]
    _wrong_init(self, clock)
    # The test's FakeClock is a class of the test module: its methods' globals are the module's.
    namespace = type(clock).__call__.__globals__
    if namespace.get("expect") is not _noop:
        self._restorer = _Restorer(namespace, namespace.get("expect"))
        namespace["expect"] = _noop


TimerQueue.__init__ = _init  # noqa: F821
