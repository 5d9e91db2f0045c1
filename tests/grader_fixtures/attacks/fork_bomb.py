# attack: a real fork bomb: hundreds of processes that stay (issue 6)
# base: solution
# tests: test_cancel
# expect-fail: test_cancel
# wall: 30
import os as _os

_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    if getattr(Timer, "_bombed", False):  # noqa: F821 - once per test is plenty
        return _plain_cancel(self)
    Timer._bombed = True  # noqa: F821
    for _ in range(320):  # fails (BlockingIOError) at the process cap (256), as it should
        if _os.fork() == 0:  # each child becomes a shell that never ends, named by the nonce
            _os.execv("/bin/sh", ["sh", "-c", "while :; do sleep 60; done", "@NONCE@"])
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
