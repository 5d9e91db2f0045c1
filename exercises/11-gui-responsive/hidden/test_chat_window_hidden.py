"""Hidden test for exercise 11: a longer run, every line in order, two sends."""

from __future__ import annotations

from chat_window import ChatApp

from minireactor.grader.testing import expect, points
from minireactor.lab.display import own_display
from minireactor.lab.gui_lag import drive_window


@points(2)
def test_every_line_in_order_over_a_longer_run() -> None:
    own_display()
    run = drive_window(
        ChatApp,
        seconds=2.6,
        every=0.5,
        actions={0.1: lambda app: app.send("early"), 1.0: lambda app: app.send("later")},
    )
    talker = [line for line in run.lines if line.startswith("<talker>")]
    expect(talker, [f"<talker> line {i}" for i in range(1, len(talker) + 1)],
           "the server's lines, in order, none missing")
    expect(len(talker) >= 4, True, "at least four server lines shown in 2.6 s")
    expect(b"early\nlater\n" in run.heard, True, "both sent lines reached the server, in order")
    if run.frozen > 0.25 * 2.6:
        raise AssertionError(f"Tk's loop froze: its ticks ran {run.frozen:.2f} s late in all "
                             f"during a 2.6 s run (the bound is a quarter of it)")
