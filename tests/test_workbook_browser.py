"""The workbook as a student meets it: real JupyterLab, a real browser, Run All.

nbval (notebooks/conftest.py) proves that every cell runs in a kernel; it
cannot see what a student sees. Here JupyterLab runs as the workbook command
starts it (the venv's `jupyter lab`, the project's Jupyter configuration in
notebooks/.jupyter on JUPYTER_CONFIG_PATH, quick mode), on 127.0.0.1 with a
token of our own and temporary settings, workspaces and runtime folders, over
a temporary copy of the notebooks (JupyterLab autosaves; the committed ones
must stay clean). Headless Chromium, driven by Playwright, opens a notebook,
clears its outputs (Edit menu), runs it (Run -> Run All Cells), waits for
every cell's reply, and then checks what is on the page: no error output,
images that the browser has decoded, widgets that ipywidgets has rendered
(their DOM, not their JSON), no news pop-up, nothing fetched from outside.
In notebook 01 it presses an `interact_manual` button twice, moving a slider
in between, and sees the figure appear and then change.

Needs Debian's `chromium` (/usr/bin/chromium), the `playwright` package (the
`dev` extra) and JupyterLab (the `notebooks` extra); without one of them the
tests are skipped with the reason. Set MINIREACTOR_SCREENSHOT=dir/ to keep a
picture of each notebook after its run. Read browser.py first:
same browser, same flags.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, NEEDS_BROWSER, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
JUPYTER_CONFIG = NOTEBOOKS / ".jupyter"
SERVER_START = 90.0  # seconds for JupyterLab to say it is running
RUN_ALL = 240_000  # ms for one notebook's Run All, on a busy two-core machine
STEP = 120_000  # ms for anything else the page must do (the machine may be busy)


pytestmark = [
    *NEEDS_BROWSER,
    pytest.mark.skipif(
        importlib.util.find_spec("jupyterlab") is None,
        reason="JupyterLab is not installed (pip install -e '.[notebooks]')",
    ),
]


@dataclass
class Lab:
    """A running JupyterLab: its address, token and log."""

    url: str
    token: str
    log: list[str] = field(default_factory=list)

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_settings(settings: Path) -> None:
    """User settings for the test's JupyterLab: render every cell.

    JupyterLab 4 may leave cells far below the viewport out of the DOM
    ("windowing"); the checks below look at every cell's rendered output.
    """
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))


def lab_command(root: Path, settings: Path, workspaces: Path, port: int, token: str) -> list[str]:
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the notebook's model
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # as dev.py does
    return command


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """JupyterLab on a temporary copy of the notebooks, stopped with its kernels."""
    with tempfile.TemporaryDirectory(prefix="workbook-lab-") as tmp:
        base = Path(tmp)
        root = base / "notebooks"
        root.mkdir()
        for notebook in NOTEBOOKS.glob("*.ipynb"):
            shutil.copy(notebook, root)
        shutil.copy(NOTEBOOKS / "workbook.py", root)
        write_settings(base / "settings")
        port, token = free_port(), os.urandom(12).hex()
        env = dict(
            os.environ,
            JUPYTER_CONFIG_PATH=str(JUPYTER_CONFIG),
            JUPYTER_RUNTIME_DIR=str(base / "runtime"),
            IPYTHONDIR=str(base / "ipython"),
            MINIREACTOR_QUICK="1",
        )
        command = lab_command(root, base / "settings", base / "workspaces", port, token)
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        server = Lab(f"http://127.0.0.1:{port}", token)
        running = threading.Event()

        def read_log() -> None:  # drain the pipe for the whole run, or the server blocks
            assert proc.stdout is not None
            for line in proc.stdout:
                server.log.append(line)
                if f"127.0.0.1:{port}/" in line and "is running at" in "".join(server.log[-3:]):
                    running.set()
            running.set()  # the server exited: stop waiting

        threading.Thread(target=read_log, daemon=True).start()
        try:
            running.wait(SERVER_START)
            started = proc.poll() is None and running.is_set()
            assert started, "JupyterLab did not start:\n" + "".join(server.log[-30:])
            yield server
        finally:
            try:  # shut the kernels down through the server, then the server
                if proc.poll() is None:
                    shut_down_kernels(server)
            finally:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, lab: Lab) -> Iterator[Any]:
    """A fresh page; afterwards the test's kernels are shut down (two cores only)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP)
    try:
        yield page
    finally:
        context.close()
        shut_down_kernels(lab)


def shut_down_kernels(lab: Lab) -> None:
    for session in lab.api("GET", "/api/sessions"):
        lab.api("DELETE", f"/api/sessions/{session['id']}")


# JavaScript run in the page. `nb()` is the notebook panel in front.
NB = "const nb = () => window.jupyterapp?.shell?.currentWidget;"
KERNEL_IDLE = f"() => {{ {NB} return nb()?.sessionContext?.session?.kernel?.status === 'idle'; }}"
CODE_CELLS = f"{NB} const code = () => Array.from(nb().model.cells).filter(c => c.type === 'code');"
ALL_CLEARED = f"() => {{ {CODE_CELLS} return code().every(c => c.executionCount === null); }}"
RUN_FINISHED = f"""() => {{ {CODE_CELLS}
    if (nb().sessionContext.session.kernel.status !== 'idle') return false;
    const errors = code().some(c => c.outputs.toJSON().some(o => o.output_type === 'error'));
    return errors || code().every(c => c.executionCount !== null); }}"""
OUTPUTS = f"() => {{ {CODE_CELLS} return code().map(c => c.outputs.toJSON()); }}"
IMAGES = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
    .map(i => ({decoded: i.complete && i.naturalWidth > 0, src: i.src.slice(-64)}))"""


def menu(page: Any, title: str, command: str) -> None:
    """Click `title` in JupyterLab's menu bar, then the item for `command`."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{title}$")).click()
    page.locator(f".lm-Menu-item[data-command='{command}']").click()


def run_all(page: Any, lab: Lab, notebook: str) -> list[list[dict[str, Any]]]:
    """Open `notebook`, clear it, Run All through the menus; every code cell's outputs."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # A workspace of its own: JupyterLab would otherwise reopen the last test's tabs.
    page.goto(f"{lab.url}/lab/workspaces/{notebook}/tree/{notebook}.ipynb?token={lab.token}")
    page.wait_for_function(KERNEL_IDLE)
    menu(page, "Edit", "editmenu:clear-all")  # the committed checked outputs go too
    page.wait_for_function(ALL_CLEARED)
    menu(page, "Run", "runmenu:run-all")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_ALL)
    if os.environ.get("MINIREACTOR_SCREENSHOT"):
        shot = Path(os.environ["MINIREACTOR_SCREENSHOT"]) / f"{notebook}.png"
        page.screenshot(path=str(shot), full_page=True)

    outputs: list[list[dict[str, Any]]] = page.evaluate(OUTPUTS)
    raised = [o for cell in outputs for o in cell if o["output_type"] == "error"]
    errors = [f"{o['ename']}: {o['evalue']}" for o in raised]
    assert errors == [], f"{notebook}: cells raised"
    tracebacks = [
        o["text"] for cell in outputs for o in cell
        if o["output_type"] == "stream" and o["name"] == "stderr" and "Traceback" in o["text"]
    ]  # fmt: skip
    assert tracebacks == [], f"{notebook}: a thread or callback printed a traceback"
    assert not page.get_by_text("official Jupyter news").count(), "the news pop-up is back"
    outside = [u for u in requested if not u.startswith(lab.url) and not u.startswith("data:")]
    assert outside == [], "the page fetched from outside JupyterLab (classrooms are offline)"
    return outputs


def assert_images(page: Any, at_least: int) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = page.evaluate(IMAGES)
    assert len(images) >= at_least, f"expected at least {at_least} figures, found {images}"
    assert all(image["decoded"] for image in images), "a figure did not render"
    return images


def assert_widgets_rendered(page: Any) -> None:
    """Widget outputs became ipywidgets views, not text or error placeholders."""
    assert page.locator(".jp-OutputArea-output .jupyter-widgets").count() > 0
    for broken in ("Error displaying widget", "Loading widget...", "model not found"):
        assert not page.locator(".jp-OutputArea-output", has_text=broken).count(), broken


@pytest.mark.timeout(300)
def test_start_here_runs_with_its_plot(page: Any, lab: Lab) -> None:
    outputs = run_all(page, lab, "00-start-here")
    assert_images(page, at_least=1)  # the echo round trips of every backend
    text = "".join(o.get("text", "") for cell in outputs for o in cell)
    assert "every backend echoed every byte correctly: True" in text


@pytest.mark.timeout(300)
def test_waiting_runs_and_its_interact_button_redraws(page: Any, lab: Lab) -> None:
    outputs = run_all(page, lab, "01-waiting")
    assert_images(page, at_least=2)  # the timeline and the busy/idle bars
    assert_widgets_rendered(page)
    text = "".join(o.get("text", "") for cell in outputs for o in cell)
    assert "every failure is the one the seed predicted: True" in text

    interact = page.locator(".widget-interact").last
    figure = interact.locator(".widget-output img")
    button = interact.locator("button.widget-button", has_text="Run Interact")
    assert figure.count() == 0, "interact_manual drew before its button was pressed"

    button.click()
    figure.wait_for(state="visible")
    decoded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(decoded, arg=figure.element_handle())
    first = figure.get_attribute("src")

    pages = interact.locator(".widget-slider").first  # "pages": 20 in quick mode, step 5
    before = pages.locator(".widget-readout").inner_text()
    pages.locator(".noUi-handle").press("ArrowRight")
    page.wait_for_function(
        "([el, before]) => el.innerText !== before",
        arg=[pages.locator(".widget-readout").element_handle(), before],
    )
    button.click()
    page.wait_for_function(
        "([box, first]) => { const img = box.querySelector('.widget-output img');"
        " return img && img.src !== first && img.complete && img.naturalWidth > 0; }",
        arg=[interact.element_handle(), first],
    )
    assert figure.count() == 1, "the new figure replaces the old one"


@pytest.mark.timeout(300)
def test_live_demo_runs_with_live_widgets_and_its_timeline(page: Any, lab: Lab) -> None:
    outputs = run_all(page, lab, "10-live-classroom-demo")
    assert_widgets_rendered(page)
    assert_images(page, at_least=1)  # what happened during the demo, from the tracer
    # The panel and the stop button are live views: the kernel's last updates
    # (the demo stopped itself) reached the page.
    stop = page.locator("button.widget-button", has_text="Stop the server")
    assert stop.count() == 1 and stop.is_disabled()
    assert "stopped" in page.locator(".widget-html").first.inner_text()
    text = "".join(o.get("text", "") for cell in outputs for o in cell)
    assert "the reactor stopped: True" in text
