# attack: setsid, then a 120-deep chain of sh -c, each waiting on the next (issue 4)
# base: solution
# tests: test_runs_in_deadline_order
# expect-fail:
import os as _os

# $0 is the script itself, $1 how many levels remain; every level is a process.
_CHAIN = r'n=$1; if [ "$n" -gt 0 ]; then sh -c "$0" "$0" $((n-1)); else sleep 60; fi # @NONCE@'

if _os.fork() == 0:
    _os.setsid()
    _os.execve("/bin/sh", ["sh", "-c", _CHAIN, _CHAIN, "120"], {})
