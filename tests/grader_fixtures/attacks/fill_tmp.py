# attack: fill /tmp (up to 256 MiB, in 1 MiB files) to starve the grader and everyone else
# base: solution
# tests: test_cancel
# expect-fail: test_cancel
# wall: 20
# needs: bwrap
_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    chunk = b"x" * (1 << 20)
    for number in range(256):  # raises OSError (no space) at the private /tmp's size
        with open(f"/tmp/fill-@NONCE@-{number}", "wb") as out:
            out.write(chunk)
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
