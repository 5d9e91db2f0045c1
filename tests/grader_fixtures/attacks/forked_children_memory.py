# attack: three forked children hold 613 MiB each (1.8 GiB) in a test limited to 1024 MiB (issue 5)
# base: solution
# tests: test_cancel test_runs_in_deadline_order
# expect-fail: test_cancel
# wall: 40
# needs: cgroup
import os as _os

_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _hog(mib: int) -> None:
    block = bytearray(mib << 20)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page (no overcommit)


def _cancel(self):  # type: ignore[no-untyped-def]
    if not getattr(Timer, "_hogged", False):  # noqa: F821
        Timer._hogged = True  # noqa: F821
        ready_r, ready_w = _os.pipe()
        hold_r, _hold_w = _os.pipe()
        for _ in range(3):
            if _os.fork() == 0:
                _hog(613)
                _os.write(ready_w, b"x")
                _os.close(ready_w)
                _os.read(hold_r, 1)  # hold the memory until the test ends
                _os._exit(0)
        _os.close(ready_w)  # so a read sees EOF once every child is gone
        held = b""
        while len(held) < 3:
            _, status = _os.waitpid(-1, _os.WNOHANG)
            if status:  # a child was killed (by the memory cap): no point waiting
                raise MemoryError("a child holding memory was killed")
            chunk = _os.read(ready_r, 3)
            if not chunk:
                raise MemoryError("every child holding memory was killed")
            held += chunk
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
