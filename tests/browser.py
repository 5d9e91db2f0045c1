"""What the browser tests share: Debian's chromium, its flags, Playwright, and when to skip.

The tests drive `/usr/bin/chromium` (`apt-get install chromium`) through the
`playwright` package (the `dev` extra), never Playwright's own browser
download, which cannot work offline. The flags keep a headless Chromium from
reaching out to the network at start (this machine has none) and let it run
as root. Without the browser or the package the tests skip with the reason.

Used by test_dashboard_browser.py and test_workbook_browser.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_playwright: Any
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

NEEDS_BROWSER = [
    pytest.mark.skipif(
        sync_playwright is None,
        reason="the playwright package is not installed (pip install -e '.[dev]')",
    ),
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"no browser at {CHROMIUM} (apt-get install chromium)",
    ),
]
"""The skip marks every browser test carries."""
