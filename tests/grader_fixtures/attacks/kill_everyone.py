# attack: signal every process it can (kill -9 -1), the grader included
# base: wrong
# tests: test_runs_in_deadline_order
# expect-fail: *
# needs: bwrap
import os as _os
import signal as _signal

for _sig in (_signal.SIGSTOP, _signal.SIGKILL):
    try:
        _os.kill(-1, _sig)
    except OSError as _exc:
        print(f"kill(-1, {_sig}): {_exc}")
