"""Graded tests for exercise 11 (gui-responsive): the window shows the chat and never freezes.

Each test starts its own virtual screen (Xvfb: no real display is used or
needed), opens your `ChatApp` on a Tk window, and runs Tk's own
`root.mainloop()` for a second or two against a chat server that says one
line every 0.4 s. Meanwhile a probe asks Tk for a tiny callback every 10 ms
and records how late each one runs: a blocked loop shows up as a late tick.
No test measures speed; the lag bound (150 ms) is generous for a loop that
never blocks, and far below what one blocking recv() costs.
"""

from __future__ import annotations

from chat_window import ChatApp

from minireactor.grader.testing import expect, points
from minireactor.lab.display import own_display
from minireactor.lab.gui_lag import WindowRun, drive_window

EVERY = 0.4  # seconds between the server's lines
LAG_BOUND = 0.15  # seconds: the latest a 10 ms Tk tick may run


def expect_live(run: WindowRun) -> None:
    worst = run.worst
    if worst >= LAG_BOUND:
        raise AssertionError(
            f"Tk's loop froze: a 10 ms tick ran {worst * 1000:.0f} ms late (the bound is "
            f"{LAG_BOUND * 1000:.0f} ms). Something in a Tk callback waits for the network."
        )
    expect(len(run.lags) >= 50, True, "Tk ran its 10 ms ticks (at least 50 in the run)")


@points(4)
def test_lines_from_the_server_appear_in_the_window() -> None:
    own_display()
    run = drive_window(ChatApp, seconds=1.7, every=EVERY)
    talker = [line for line in run.lines if line.startswith("<talker>")]
    expect(talker[:3], ["<talker> line 1", "<talker> line 2", "<talker> line 3"],
           "the first three server lines shown in app.messages")
    expect_live(run)


@points(3)
def test_tk_keeps_ticking_while_the_server_is_slow() -> None:
    own_display()
    run = drive_window(ChatApp, seconds=1.5, every=EVERY)
    expect_live(run)
    expect(len(run.lines) >= 2, True, "at least two lines shown meanwhile")


@points(3)
def test_send_reaches_the_server_and_the_window_stays_live() -> None:
    own_display()
    run = drive_window(
        ChatApp, seconds=1.2, every=EVERY, actions={0.3: lambda app: app.send("hello from Tk")}
    )
    expect(b"hello from Tk\n" in run.heard, True, "the server received 'hello from Tk\\n'")
    expect_live(run)
