# attack: ctypes writes into the grader's memory (the parent's /proc/<pid>/mem, then our own helpers)
# base: wrong
# tests: test_runs_in_deadline_order test_cancel
# expect-fail: *
import ctypes as _ctypes
import os as _os

import minireactor.grader.testing as _helpers

for _pid in (_os.getppid(), 1):
    try:  # the grader is not in our PID namespace, nor ours to write
        with open(f"/proc/{_pid}/mem", "r+b") as _mem:
            _mem.seek(0x400000)
            _mem.write(b"\xcc")
    except (OSError, ValueError) as _exc:
        print(f"/proc/{_pid}/mem: {_exc}")
# Make `expect` return at once by copying the code of a no-op over it, in memory.
_noop = (lambda *a: None).__code__
_target = _helpers.expect.__code__
_ctypes.memmove(id(_target), id(_noop), 16)
