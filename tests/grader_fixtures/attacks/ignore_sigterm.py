# attack: ignore SIGTERM (and a child that ignores it too), then spin
# base: solution
# tests: test_cancel test_runs_in_deadline_order
# expect-fail: test_cancel
import os as _os
import signal as _signal

_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    for sig in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
        _signal.signal(sig, _signal.SIG_IGN)
    if _os.fork() == 0:  # a shell that ignores SIGTERM too, named by the nonce
        _os.execv("/bin/sh", ["sh", "-c", "trap '' TERM INT HUP; while :; do :; done", "@NONCE@"])
    while True:
        pass


Timer.cancel = _cancel  # noqa: F821
