# attack: a real fork bomb: hundreds of processes that stay (issue 6)
# base: solution
# tests: test_cancel
# expect-fail: test_cancel
# wall: 15
import os as _os

_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    for _ in range(600):  # fails (BlockingIOError) at the process cap, as it should
        if _os.fork() == 0:
            with open("/proc/self/comm", "w") as comm:
                comm.write("f@NONCE@"[:15])
            while True:
                _os.pause()
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
