# attack: double fork + setsid + execve(..., env={}) daemon rewriting results.json later (4)
# base: solution
# tests: test_runs_in_deadline_order test_ties_run_in_scheduling_order
# expect-fail:
import os as _os

_SCRIPT = r"""
# @NONCE@: this comment is the daemon's name in the process table
i=0
while [ $i -lt 300 ]; do
  for f in $(find / -xdev -name results.json 2>/dev/null); do
    echo '{"score": 999, "tests": []}' > "$f" 2>/dev/null
  done
  sleep 0.1; i=$((i+1))
done
"""

if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _os.execve("/bin/sh", ["sh", "-c", _SCRIPT], {})
    _os._exit(0)
_os.wait()
