"""The dashboard in a real browser: headless Chromium driven by Playwright.

The dashboard runs as a user runs it (`python -m minireactor.demo dashboard`
in a subprocess). Plain sockets play students on nc; the page must show them
arrive, count their messages, carry a line typed into its own chat box to
the nc students, and restart the server on another backend when the
instructor clicks. The browser must fetch nothing but the dashboard itself.

Needs Debian's `chromium` (/usr/bin/chromium; `apt-get install chromium`) and
the `playwright` Python package (the `dev` extra). Playwright's own browser
download is never used (it cannot work offline); without either, the test
is skipped with the reason. Set MINIREACTOR_SCREENSHOT=page.png to keep a
picture of the page mid-test.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, NEEDS_BROWSER, sync_playwright
from test_demo_cli import read_until, running

pytestmark = NEEDS_BROWSER


@pytest.fixture
def page() -> Iterator[Any]:
    """A page in a fresh headless Chromium profile."""
    assert sync_playwright is not None
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def number(page: Any, element: str) -> str:
    """JS that reads the number shown in #element."""
    return f"Number(document.getElementById('{element}').textContent.replace(/,/g, ''))"


@pytest.mark.timeout(60)
def test_the_page_follows_the_chat_live(page: Any) -> None:
    args = ("dashboard", "--port", "0", "--chat-port", "0", "--backend", "select")
    with running(*args, "--admin-token", "tok") as (proc, out):
        url = read_until(proc, out, r"dashboard:  (http://\S+)")[1]
        chat_port = int(read_until(proc, out, r"chat: +nc \S+ (\d+)")[1])
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(url + "?admin=tok")
        page.wait_for_function("document.getElementById('status').textContent === 'live'")
        assert page.text_content("#backend") == "select"
        page.wait_for_function(f"{number(page, 'connections')} === 0")
        assert page.text_content("#join") == f"nc 127.0.0.1 {chat_port}"

        students = [socket.create_connection(("127.0.0.1", chat_port)) for _ in range(3)]
        try:
            page.wait_for_function(f"{number(page, 'connections')} === 3")
            for i, student in enumerate(students):
                student.sendall(b"".join(b"message %d from %d\n" % (n, i) for n in range(4)))
            page.wait_for_function(f"{number(page, 'rate')} > 0")
            page.wait_for_selector("#chat-log li >> text=<guest1> message 3 from 0")
            assert float(page.text_content("#lag")) >= 0

            page.fill("#nick", "webby")
            page.fill("#text", "hello from chromium")
            page.click("#say button")
            page.wait_for_selector("#chat-log li >> text=<webby@web> hello from chromium")
            received = b""
            while b"hello from chromium" not in received:
                received += students[0].recv(4096)

            # The timeline canvas has been drawn on.
            painted = page.evaluate(
                "() => { const c = document.getElementById('timeline');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
            )
            assert painted > 1000
            if os.environ.get("MINIREACTOR_SCREENSHOT"):
                page.screenshot(path=os.environ["MINIREACTOR_SCREENSHOT"], full_page=True)

            # The instructor restarts the server on another backend.
            page.click("#backend-buttons button[data-backend=poll]")
            page.wait_for_function("document.getElementById('backend').textContent === 'poll'")
            page.wait_for_function("document.getElementById('status').textContent === 'live'")
            page.wait_for_function(f"{number(page, 'connections')} === 0")
            notice = b""
            while b"restarting on the poll backend" not in notice:
                notice += students[1].recv(4096)
        finally:
            for student in students:
                student.close()

    assert errors == []
    outside = [u for u in requested if not u.startswith(url) and not u.startswith("data:")]
    assert outside == [], "the page must fetch nothing but the dashboard (classrooms are offline)"
