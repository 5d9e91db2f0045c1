"""The lab: threads, processes and event loops, measured on the same work.

    from minireactor.lab import internet, fetch_all, STRATEGIES, serve, SERVER_MODELS, load

    with internet(seed=1, latency=0.1, error_rate=0.1) as net:     # a local, seeded internet
        report = fetch_all(net.urls(200), strategy="thread_pool", concurrency=20)

    with serve("thread_pool", workload="http") as address:         # a server model
        result = load(address, protocol="http", clients=50, duration=2.0)

One module per part, in reading order:

* `pages.py`: the model of the local internet (pure functions of seed and path).
* `internet.py`: `internet()` and the `Internet` handle; `internet_server.py`:
  the server that plays it (minireactor, in a subprocess).
* `report.py`, `workers.py`, `fetch.py`, `fetch_async.py`: the fetch strategies.
* `crawl.py`: a link pipeline and a bounded crawler on top of them.
* `handlers.py`, `servers.py`: one workload, six server concurrency models.
* `load.py`: the closed- and open-loop load generator; its engines are
  `load_python.py` and `load_native.py` (the C client, built by `native.py`);
  `load_plan.py` holds what a run asks for and `load_result.py` what it returns.
* `calibrate.py`: CPU work sized from this machine's measured `fib` speed.
* `memory.py`: resident memory per open connection (threads against loops).
* `plots.py`, `compare.py`: figures (one palette) and the comparisons behind
  `minireactor compare`.
* `twisted_loops.py`: Twisted, unchanged, on its own reactor, asyncio's and minireactor's.
* `procs.py`: starting and stopping helper processes, and the lab's errors.

Importing this package needs only the standard library; matplotlib, tqdm,
aiohttp, pandas and dask are imported when a function needs them.
"""

from __future__ import annotations

from .calibrate import Calibration, calibrate
from .crawl import CrawlResult, crawl, pipeline
from .fetch import STRATEGIES, fetch_all, read_url_file
from .internet import Internet, internet
from .load import LoadResult, load
from .pages import SiteConfig, extract_links
from .procs import LabError, MissingDependency
from .report import Record, Report
from .server_process import serve
from .servers import SERVER_MODELS

__all__ = [
    "SERVER_MODELS",
    "STRATEGIES",
    "Calibration",
    "CrawlResult",
    "Internet",
    "LabError",
    "LoadResult",
    "MissingDependency",
    "Record",
    "Report",
    "SiteConfig",
    "calibrate",
    "crawl",
    "extract_links",
    "fetch_all",
    "internet",
    "load",
    "pipeline",
    "read_url_file",
    "serve",
]
