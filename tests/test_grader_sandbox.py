"""The hostile corpus against the real sandbox: every attack contained, as root and in the fallback.

Each attack in tests/grader_fixtures/attacks/ (see its README) is graded and
must: score no more than its real code earns (exactly its expected failures),
leave no process alive, send no byte to a listener on 127.0.0.1, change no
file outside its sandbox, and show no hidden-test or solution text in the
student-visible results. `needs: bwrap` attacks are contained only by
bubblewrap; `needs: cgroup` only by a per-test control group: the fallback
run skips them (the sandbox's one-line description says so to the user).
The ordinary-user runs are in test_grader_sandbox_user.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest
from grader_attacks import Attack, attacks, run_attack, secrets_of_the_exercise, visible_text

from minireactor.grader.bwrap import find_bwrap
from minireactor.grader.cgroups import Cgroups
from minireactor.grader.sandbox import Policy, Sandbox, default_policy

ALL = attacks()
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_bwrap = pytest.mark.skipif(find_bwrap() is None,
                                 reason="bubblewrap (bwrap) is missing or cannot create namespaces")
needs_linux = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


def check(attack: Attack, tmp_path: Path, policy: Policy | None, shared_tmp: bool = False) -> None:
    """Grade one attack and assert it was contained.

    `shared_tmp`: the fallback shares the host's world-writable /tmp and
    /dev/shm with graded code (it says so); marks left there are removed and
    not counted, while the planted results, the other student's file and the
    repository must stay untouched.
    """
    outcome = run_attack(attack, tmp_path, policy)
    if shared_tmp:
        shared = [p for p in outcome.tampered if p.startswith(("/tmp/PWNED-", "/dev/shm/PWNED-"))]
        for path in shared:
            os.unlink(path)
        outcome.tampered = [p for p in outcome.tampered if p not in shared]
    assert outcome.ran == {t.removeprefix("hidden:") for t in attack.tests}, outcome.explain()
    assert outcome.failed == attack.expected_failures(), outcome.explain()
    assert not outcome.stray, f"processes outlived the grade: {outcome.stray}"
    assert outcome.connections == 0 and outcome.received == b"", outcome.received
    assert not outcome.tampered, f"changed outside the sandbox: {outcome.tampered}"
    shown = visible_text(outcome.results_text)
    for line in secrets_of_the_exercise(with_solution=attack.base != "solution"):
        assert line not in shown, f"results show hidden or solution text: {line!r}"


def test_the_corpus_has_every_attack_the_issue_names() -> None:
    assert len(ALL) >= 15
    names = {a.name for a in ALL}
    assert {"helper_namespace_injection", "read_hidden_via_sys_path", "network_exfiltration",
            "setsid_daemon_rewrites_results", "setsid_deep_chain",
            "forked_children_memory"} <= names


@needs_bwrap
@needs_linux
@pytest.mark.timeout(120)
@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_attack_is_contained_by_bubblewrap(attack: Attack, tmp_path: Path) -> None:
    if "cgroup" in attack.needs and (not IS_ROOT or Cgroups.find() is None):
        pytest.skip("per-test memory needs a control group the grader can create (root here)")
    check(attack, tmp_path, None)  # the default policy: bwrap, cgroups as root, drop to nobody


def fallback_policy() -> Policy:
    """No bubblewrap; as root, tests run as nobody with the system's Python (readable by it)."""
    policy = default_policy()
    python = shutil.which("python3", path="/usr/bin:/bin") if IS_ROOT else None
    return Policy(user=policy.user, contain_orphans=True, isolation="none",
                  python=python or policy.python)


@needs_linux
@pytest.mark.timeout(120)
@pytest.mark.parametrize("attack", [a for a in ALL if "bwrap" not in a.needs],
                         ids=lambda a: a.name)
def test_attack_is_contained_by_the_fallback(attack: Attack, tmp_path: Path) -> None:
    if "cgroup" in attack.needs and (not IS_ROOT or Cgroups.find() is None):
        pytest.skip("per-test memory needs a control group the grader can create (root here)")
    if not IS_ROOT and attack.name in ("write_everywhere", "tamper_test_files"):
        pytest.skip("without root or bubblewrap graded code runs as the grader's user: "
                    "files are not isolated (the fallback says so)")
    check(attack, tmp_path, fallback_policy(), shared_tmp=True)


def test_the_fallback_says_what_it_does_not_isolate() -> None:
    line = Sandbox(Policy(isolation="none", cgroups=False), []).describe()
    assert "FALLBACK" in line and "NOT isolated: network, file system" in line


@needs_bwrap
def test_bubblewrap_says_what_it_isolates() -> None:
    line = Sandbox(default_policy(contain_orphans=False), []).describe()
    assert "bubblewrap" in line and "no network" in line


def test_requiring_bubblewrap_where_it_is_missing_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import minireactor.grader.sandbox as sandbox

    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="install the 'bubblewrap' package"):
        Sandbox(Policy(isolation="bwrap"), [])


@pytest.mark.skipif(not IS_ROOT, reason="dropping to nobody needs root")
def test_nobody_exists_for_the_root_runs() -> None:
    assert pwd.getpwnam("nobody").pw_uid == default_policy().user[0]  # type: ignore[index]
