# attack: inject into the helpers' namespace while a test runs, and clean up before the grader looks
# base: wrong
# tests: test_runs_in_deadline_order test_cancel test_len_and_next_deadline
# expect-fail: *
import minireactor.grader.testing as _helpers

_FAKE = {
    "type": lambda obj: list, "isinstance": lambda obj, kind: True,
    "len": lambda obj: 0, "all": lambda items: True, "zip": lambda *a, **k: [],
}


class _Cleaner:
    """Dies with the test's locals, just before the verdict: takes the evidence away."""

    def __del__(self) -> None:
        for name in _FAKE:
            vars(_helpers).pop(name, None)


_wrong_init = TimerQueue.__init__  # noqa: F821 - defined by the base above


def _init(self, clock=None):  # type: ignore[no-untyped-def]
    _wrong_init(self, clock)
    vars(_helpers).update(_FAKE)
    self._cleaner = _Cleaner()


TimerQueue.__init__ = _init  # noqa: F821
