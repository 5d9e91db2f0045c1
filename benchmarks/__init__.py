"""Runnable performance comparisons of minireactor against its peers.

This package sits beside the library, not inside it: nothing in
`minireactor/` imports it. Each benchmark is one command:

    .venv/bin/python -m benchmarks.echo      # echo server, C load client, every peer
    .venv/bin/python -m benchmarks.timers    # call_later / call_soon throughput

Layout: `echo.py` runs the echo comparison and `report.py` summarises it;
`servers/` holds one small echo server per concurrency model; `c/` holds the
C load client and the C reference server, which `build.py` compiles on demand
into `bin/`; `processes.py` starts pinned processes and `procstat.py` reads
their CPU time from /proc. Read `README.md` first for the method.
"""
