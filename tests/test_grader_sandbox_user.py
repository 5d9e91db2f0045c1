"""The sandbox when the grader is an ordinary user (bubblewrap's user namespace, no cgroup).

CI may run as an ordinary user, where test_grader_sandbox.py already covers
this; on a root machine these tests make it happen: each grades one attack in
a subprocess started as `nobody` with `setpriv` and the system's Python (the
grader's own may live under /root), and the harness's checks run there.
Only the attacks whose containment differs without root are repeated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from grader_attacks import attacks

from minireactor.grader.bwrap import find_bwrap
from minireactor.grader.runner import PACKAGE_ROOT

PYTHON = shutil.which("python3", path="/usr/bin:/bin")
SETPRIV = shutil.which("setpriv")
# Where the ordinary user's sandbox differs from root's: no cgroup (the PID
# namespace alone ends daemons; RLIMIT_NPROC in the user namespace caps forks;
# RLIMIT_AS caps memory), a user namespace, and no user drop (non-dumpable only).
WITHOUT_ROOT = ["setsid_daemon_rewrites_results", "setsid_deep_chain", "fork_bomb",
                "network_exfiltration", "read_hidden_via_sys_path", "one_huge_touched_allocation",
                "read_token_or_pipe"]

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="becoming an ordinary user needs root (as one: test_grader_sandbox)"),
    pytest.mark.skipif(SETPRIV is None or PYTHON is None,
                       reason="needs setpriv and /usr/bin/python3"),
]

# Runs as nobody: grade one attack with the default policy and print what the harness saw.
_SCRIPT = """
import json, sys, tempfile
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from grader_attacks import load, run_attack, secrets_of_the_exercise, visible_text
from minireactor.grader.sandbox import Policy
attack = load(Path(sys.argv[3]))
policy = Policy(isolation="none", contain_orphans=True) if sys.argv[4] == "fallback" else None
out = run_attack(attack, Path(tempfile.mkdtemp(prefix="attack-as-user-")), policy)
shown = visible_text(out.results_text)
leaks = [l for l in secrets_of_the_exercise(attack.base != "solution") if l in shown]
print(json.dumps({"failed": sorted(out.failed), "stray": out.stray, "connections": out.connections,
                  "tampered": out.tampered, "leaks": leaks, "report": str(out.report)}))
"""


# The fallback as an ordinary user: the sweep, RLIMIT_NPROC above the user's
# other tasks, RLIMIT_AS and the non-dumpable child are all it has.
FALLBACK_WITHOUT_ROOT = ["setsid_daemon_rewrites_results", "setsid_deep_chain", "fork_bomb",
                         "read_token_or_pipe"]


@pytest.mark.skipif(find_bwrap() is None, reason="bubblewrap (bwrap) is missing")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", WITHOUT_ROOT)
def test_attack_is_contained_when_the_grader_is_an_ordinary_user(name: str) -> None:
    check_as_nobody(name, "bwrap")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", FALLBACK_WITHOUT_ROOT)
def test_fallback_contains_when_the_grader_is_an_ordinary_user(name: str) -> None:
    check_as_nobody(name, "fallback")


def check_as_nobody(name: str, mode: str) -> None:
    attack = next(a for a in attacks() if a.name == name)
    done = subprocess.run(
        [str(SETPRIV), "--reuid=65534", "--regid=65534", "--clear-groups", str(PYTHON), "-I",
         "-c", _SCRIPT, str(PACKAGE_ROOT), str(Path(__file__).parent), str(attack.path), mode],
        capture_output=True, text=True, timeout=170, cwd="/", check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(seen["failed"]) == attack.expected_failures(), seen["report"]
    assert seen["stray"] == [] and seen["connections"] == 0, seen
    assert seen["tampered"] == [] and seen["leaks"] == [], seen
