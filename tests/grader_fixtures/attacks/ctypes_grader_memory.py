# attack: ctypes writes into the grader's memory: /proc/<parent>/mem, then the helpers' code
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


def _noop(*args, **kwargs):  # type: ignore[no-untyped-def]
    return None


def _swap_code(function, code) -> None:  # type: ignore[no-untyped-def]
    """Point a function object's code pointer at `code`, behind the interpreter's back."""
    slots = _ctypes.cast(id(function), _ctypes.POINTER(_ctypes.c_void_p))
    for index in range(2, 20):
        if slots[index] == id(function.__code__):
            slots[index] = id(code)
            return


_KEEP = _noop.__code__  # stays referenced: the swapped pointers borrow it
for _function in (_helpers.expect, _helpers.same):
    _swap_code(_function, _KEEP)
