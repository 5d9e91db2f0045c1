"""Graded tests for exercise 11 (gui-responsive): the window shows the chat and never freezes.

Each test starts its own virtual screen (Xvfb: no real display is used or
needed), opens your `ChatApp` on a Tk window, and runs Tk's own
`root.mainloop()` for a second or two against a chat server that says one
line every 0.4 s. Meanwhile a probe asks Tk for a tiny callback every 10 ms
and records how late each one runs: a blocked loop shows up as a late tick.
No test measures speed: a test fails when Tk's loop was late for more than
a quarter of the run in all (a blocking recv() keeps it late nearly all the
time), which a loop that never blocks stays far below even on a busy
machine, where one tick may now and then run late.
"""

from __future__ import annotations

from chat_window import ChatApp

from minireactor.grader.testing import expect, points
from minireactor.lab.display import own_display
from minireactor.lab.gui_lag import WindowRun, drive_window

EVERY = 0.4  # seconds between the server's lines
FROZEN_SHARE = 0.25  # the most of a run Tk's loop may spend late, in all


def expect_live(run: WindowRun, seconds: float) -> None:
    if run.frozen > FROZEN_SHARE * seconds:
        raise AssertionError(
            f"Tk's loop froze: its 10 ms ticks ran {run.frozen:.2f} s late in all during a "
            f"{seconds} s run (the bound is {FROZEN_SHARE:.0%} of it; the worst tick was "
            f"{run.worst * 1000:.0f} ms late). Something in a Tk callback waits for the network."
        )
    expect(len(run.lags) >= 50, True, "Tk ran its 10 ms ticks (at least 50 in the run)")


@points(4)
def test_lines_from_the_server_appear_in_the_window() -> None:
    own_display()
    seconds = 1.7
    run = drive_window(ChatApp, seconds=seconds, every=EVERY)
    talker = [line for line in run.lines if line.startswith("<talker>")]
    expect(talker[:3], ["<talker> line 1", "<talker> line 2", "<talker> line 3"],
           "the first three server lines shown in app.messages")
    expect_live(run, seconds)


@points(3)
def test_tk_keeps_ticking_while_the_server_is_slow() -> None:
    own_display()
    seconds = 1.5
    run = drive_window(ChatApp, seconds=seconds, every=EVERY)
    expect_live(run, seconds)
    expect(len(run.lines) >= 2, True, "at least two lines shown meanwhile")


@points(3)
def test_send_reaches_the_server_and_the_window_stays_live() -> None:
    own_display()
    seconds = 1.2
    run = drive_window(
        ChatApp, seconds=seconds, every=EVERY, actions={0.3: lambda app: app.send("hello from Tk")}
    )
    expect(b"hello from Tk\n" in run.heard, True, "the server received 'hello from Tk\\n'")
    expect_live(run, seconds)
