"""Batch grading at class scale: N synthetic students x the ten exercises.

    .venv/bin/python -m benchmarks.class_grading                  # 200 students, --jobs 2
    .venv/bin/python -m benchmarks.class_grading --students 30 --jobs 2 --timeout 5

Generates a class (one folder per student) from the exercises themselves,
seeded: per exercise each student hands in the reference solution (50 %),
the untouched starter (25 %), a broken solution - the solution with one
function made to raise (15 %) - or hostile code (10 %: sys.exit, os._exit, a
huge allocation, fake "PASSED" output with a forged results.json, a
fork-and-exit, or an infinite loop at import). Then runs
`minireactor grade --class` on it, as an instructor would, into a fresh
gradebook, and reports submissions graded per second, the measured cost of
one submission on one worker, what a cluster of 4 such workers would give
at that cost, and the machine's load average. Results go to
`benchmarks/results/class-grading-<time>.json`.

Ctrl-C stops the batch: the figures then cover what was graded.

Read next: `minireactor/grader/batch.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import ast
import json
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"

HOSTILE = {
    "sys_exit": "import sys\nsys.exit(0)\n",
    "os_exit": "import os\nos._exit(0)\n",
    "huge_allocation": "hoard = bytearray(1 << 34)\n",
    "fake_output": ("import json, os\nprint('PASSED ' * 50)\n"
                    "for where in ('results.json', '/autograder/results/results.json'):\n"
                    "    try:\n"
                    "        open(where, 'w').write(json.dumps({'score': 1000}))\n"
                    "    except OSError:\n"
                    "        pass\n"),
    "fork_and_exit": "import os\nif os.fork() == 0:\n    os._exit(0)\nraise SystemExit(3)\n",
    "infinite_loop": "while True:\n    pass\n",
}


def broken(solution: str, rng: random.Random) -> str:
    """The solution with one of its functions made to raise at its first line."""
    tree = ast.parse(solution)
    functions = [n for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef) and not n.name.startswith("__")]
    if not functions:
        return solution + "\nraise RuntimeError('broken on purpose')\n"
    victim = rng.choice(functions)
    victim.body.insert(0, ast.parse("raise RuntimeError('off by one')").body[0])
    return ast.unparse(tree)


def make_class(folder: Path, students: int, seed: int) -> dict[str, int]:
    """Write `students` folders under `folder`; return how many files of each kind."""
    rng = random.Random(seed)
    exercises = sorted(p for p in EXERCISES.iterdir() if (p / "exercise.toml").is_file())
    kinds: dict[str, int] = {}
    for number in range(students):
        student = folder / f"s{number:04d}"
        student.mkdir(parents=True)
        for exercise in exercises:
            starter = next(p for p in (exercise / "solution").glob("*.py"))
            solution = starter.read_text()
            roll = rng.random()
            if roll < 0.50:
                kind, text = "solution", solution
            elif roll < 0.75:
                kind, text = "starter", (exercise / starter.name).read_text()
            elif roll < 0.90:
                kind, text = "broken", broken(solution, rng)
            else:
                # Hangs cost a whole wall-clock limit per test: keep them rare.
                names = [*HOSTILE] if rng.random() < 0.2 else [
                    n for n in HOSTILE if n != "infinite_loop"]
                kind = rng.choice(names)
                text = HOSTILE[kind] + "\n" + solution
            kinds[kind] = kinds.get(kind, 0) + 1
            (student / starter.name).write_text(text)
    return kinds


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, help="wall-clock seconds per test (override)")
    parser.add_argument("--hidden", action="store_true", help="also run the hidden tests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the class and the grades here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="class-grading-")) if args.keep is None else args.keep
    try:
        kinds = make_class(work / "class", args.students, args.seed)
        print(f"generated {args.students} students x 10 exercises: {kinds}", flush=True)
        command = [sys.executable, "-m", "minireactor.grader", "grade", "--class",
                   str(work / "class"), "--out", str(work / "grades"), "--jobs", str(args.jobs),
                   "--exercises", str(EXERCISES)]
        command += ["--timeout", str(args.timeout)] if args.timeout else []
        command += ["--hidden"] if args.hidden else []
        load_before = load_average()
        started = time.monotonic()
        grading = subprocess.Popen(command)
        try:
            grading.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the grader too: it stops cleanly
            grading.wait()
            print("interrupted: figures cover what was graded", file=sys.stderr)
        elapsed = time.monotonic() - started
        with sqlite3.connect(work / "grades" / "gradebook.sqlite") as db:
            graded = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            tests = sum(len(json.loads(t)) for (t,) in db.execute("SELECT tests FROM results"))
        rate = graded / elapsed
        per_unit = args.jobs * elapsed / graded if graded else float("nan")
        result = {
            "students": args.students, "jobs": args.jobs, "timeout": args.timeout,
            "hidden": args.hidden, "kinds": kinds, "submissions_graded": graded,
            "tests_run": tests, "elapsed_s": round(elapsed, 1),
            "submissions_per_s": round(rate, 3), "tests_per_s": round(tests / elapsed, 2),
            "worker_seconds_per_submission": round(per_unit, 3),
            "four_workers_estimate_per_s": round(4 / per_unit, 3),
            "load_before": load_before, "load_after": load_average(),
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
        out = ROOT / "benchmarks" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"class-grading-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
            json.dumps(result, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
