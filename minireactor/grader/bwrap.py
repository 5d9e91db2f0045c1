"""The bubblewrap command line that encloses one graded test (Linux).

bubblewrap (`bwrap`, Debian package `bubblewrap`, the sandbox Flatpak uses)
starts a program in new namespaces with a file system built from explicit
binds. `Bubblewrap.command()` builds, for one test:

- new PID, network, IPC, UTS and (for a non-root grader) user namespaces:
  the test sees only its own processes, has no network at all (a loopback of
  its own), and every process in it dies with the namespace's first process,
  which dies with the grader (`--die-with-parent`);
- a read-only view of the system (`/usr` and the usual symlinks, a few files
  of `/etc`, the Python installation) so tests may run `/usr/bin` programs,
  a private `/tmp` and `/dev/shm` (unix sockets, semaphores), and nothing
  else: the grader package only (not the folder that holds it, so never
  `hidden/` or `solution/`), the test's own visible folder, the submission
  copy (read-only) and its working folder under `/grade`.

As root there is no user namespace (it would map the test to root outside);
bwrap keeps only CAP_SETUID/CAP_SETGID so the child can drop to `nobody`
before it imports anything (see `_child.py`). Read next: `cgroups.py`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# System folders: bound read-only when real folders, recreated when symlinks
# (merged-/usr systems make /bin a link to usr/bin).
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The parts of /etc programs need (the dynamic linker's cache, user names,
# alternatives, fonts and X11 for an Xvfb-based test); never shadow or sudoers.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd", "group",
        "nsswitch.conf", "localtime", "hosts", "fonts", "X11", "ssl", "mime.types")
GRADE_DIR = "/grade"  # where the submission and working folders appear inside


@functools.cache
def find_bwrap() -> str | None:
    """The path of a working `bwrap`, or None (missing, or namespaces refused).

    Probed once per process with the namespaces the grader asks for, so a
    host that forbids them falls back to the plain sandbox instead of failing
    every test.
    """
    path = shutil.which("bwrap")
    if path is None or sys.platform != "linux":
        return None
    probe = Bubblewrap(path).command(["/bin/true"], binds=Binds((), (), None, None))
    try:
        done = subprocess.run(probe, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if done.returncode == 0 else None


@dataclass(frozen=True)
class Binds:
    """What one test may see besides the system: all host paths."""

    read_only: tuple[str, ...]  # the package, the Python installation, the test's folder
    same_path: tuple[str, ...]  # read-only folders that keep their host path (sys.path)
    submission: str | None  # host folder shown read-only as /grade/submission
    work: str | None  # host folder shown writable as /grade/work


@dataclass(frozen=True)
class Bubblewrap:
    """Builds bwrap command lines (one binary, probed by `find_bwrap`)."""

    path: str
    tmp_mb: int = 64  # size of the private /tmp and of /dev/shm

    def command(
        self, inner: list[str], *, binds: Binds, drop_user: bool = False,
        info_fd: int | None = None,
    ) -> list[str]:
        """The argv that runs `inner` inside a fresh sandbox.

        Args:
            inner: the program and its arguments, as paths inside the sandbox.
            binds: the host folders the test may see.
            drop_user: keep CAP_SETUID/CAP_SETGID so the child can switch to
                an unprivileged user itself (only when the grader is root).
            info_fd: a descriptor bwrap writes {"child-pid": N} to (see `sandbox.py`).
        """
        root = os.geteuid() == 0
        argv = [self.path, "--unshare-ipc", "--unshare-pid", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--hostname", "grader"]
        if not root:
            argv.append("--unshare-user")  # an ordinary user needs one for the others
        if info_fd is not None:
            argv += ["--info-fd", str(info_fd)]
        argv += self._system()
        size = str(self.tmp_mb << 20)  # world-writable and sticky, like the host's
        argv += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm",
                 "--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
        made: set[str] = {"/", "/usr", "/etc", "/proc", "/dev", "/tmp"}
        for path in (*binds.read_only, *binds.same_path):
            argv += [*_parents(path, made), "--ro-bind", path, path]
        if binds.submission is not None:
            argv += _parents(f"{GRADE_DIR}/submission", made)
            argv += ["--ro-bind", binds.submission, f"{GRADE_DIR}/submission"]
        if binds.work is not None:
            argv += _parents(f"{GRADE_DIR}/work", made)
            argv += ["--bind", binds.work, f"{GRADE_DIR}/work", "--chdir", f"{GRADE_DIR}/work"]
        argv += ["--cap-drop", "ALL"]
        if root and drop_user:
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return [*argv, "--", *inner]

    def _system(self) -> list[str]:
        argv: list[str] = []
        for path in _SYSTEM:
            if os.path.islink(path):
                argv += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                argv += ["--ro-bind", path, path]
        argv += ["--perms", "0755", "--dir", "/etc"]
        for name in _ETC:
            if os.path.exists(f"/etc/{name}"):
                argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        return argv


def _parents(path: str, made: set[str]) -> list[str]:
    """Create `path`'s missing parent folders world-readable (bwrap copies 0700 from /root)."""
    argv: list[str] = []
    for parent in reversed(Path(path).parents):
        name = str(parent)
        if name not in made and not any(name.startswith(s + "/") for s in _SYSTEM):
            made.add(name)
            argv += ["--perms", "0755", "--dir", name]
    made.add(path)
    return argv


@functools.cache
def python_folders(python: str) -> tuple[str, ...]:
    """The folders an interpreter needs: its installation and its virtualenv.

    Asked of `python` itself (it may not be the grader's own interpreter).
    Folders under /usr are already in the sandbox and left out.
    """
    script = "import sys; print(sys.prefix); print(sys.base_prefix)"
    try:
        out = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        out = f"{sys.prefix}\n{sys.base_prefix}\n"
    folders = {os.path.realpath(line) for line in out.split()}
    folders.add(os.path.dirname(os.path.realpath(python)))
    keep = sorted(f for f in folders if not any(f == s or f.startswith(s + "/") for s in _SYSTEM))
    # Drop folders inside another kept folder (a venv inside the base prefix).
    return tuple(f for f in keep if not any(f.startswith(o + "/") for o in keep if o != f))
