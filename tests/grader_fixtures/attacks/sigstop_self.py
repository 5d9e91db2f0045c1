# attack: SIGSTOP to itself (a stopped test that never reports)
# base: solution
# tests: test_cancel test_runs_in_deadline_order
# expect-fail: test_cancel
import os as _os
import signal as _signal

_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    _os.kill(_os.getpid(), _signal.SIGSTOP)
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
