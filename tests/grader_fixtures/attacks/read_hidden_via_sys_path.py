# attack: find hidden/ and solution/ through sys.path, print the hidden tests, run the solution (2)
# base: wrong
# tests: test_runs_in_deadline_order hidden:test_random_schedule_matches_a_sorted_reference
# expect-fail: *
# needs: bwrap
import os as _os
import sys as _sys


def _look() -> None:
    seen = set()
    for entry in list(_sys.path):
        folder = _os.path.abspath(entry or ".")
        for _ in range(6):  # climb towards the exercise folder and the repository
            for sub in ("hidden", "solution", "exercises/03-timers/hidden",
                        "exercises/03-timers/solution", "03-timers/hidden", "03-timers/solution"):
                place = _os.path.join(folder, sub)
                if place in seen or not _os.path.isdir(place):
                    continue
                seen.add(place)
                for name in sorted(_os.listdir(place)):
                    path = _os.path.join(place, name)
                    try:
                        with open(path, encoding="utf-8") as source:
                            text = source.read()
                    except OSError:
                        continue
                    print(f"=== {path} ===\n{text}")  # lands in a visible test's output
                    if name == "timers.py":
                        exec(compile(text, path, "exec"), globals())  # full marks, if it works
            folder = _os.path.dirname(folder)


_look()
