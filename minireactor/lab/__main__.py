"""`python -m minireactor.lab PART ...`: how the lab starts its helper processes.

PART is `internet` (the local internet), `server` (a server model) or `load`
(one load-generator process). Each prints `READY host port` (or its JSON
result) on stdout; see `procs.py`. People use the `minireactor` command instead.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    parts = {"internet": "internet", "server": "server_process", "load": "load"}
    if not argv or argv[0] not in parts:
        print(f"usage: python -m minireactor.lab {{{','.join(parts)}}} ...", file=sys.stderr)
        return 2
    module = __import__(f"minireactor.lab.{parts[argv[0]]}", fromlist=["main"])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
