# attack: a thread bomb: two thousand threads that never end
# base: solution
# tests: test_cancel
# expect-fail: test_cancel
import threading as _threading
import time as _time

_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    for _ in range(2000):  # fails (RuntimeError: can't start new thread) at a cap
        _threading.Thread(target=_time.sleep, args=(600,), daemon=True).start()
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
