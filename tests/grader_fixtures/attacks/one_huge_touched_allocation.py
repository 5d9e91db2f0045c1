# attack: one process allocates 1.5 GiB, touching every page, in a test limited to 1024 MiB (6)
# base: solution
# tests: test_cancel
# expect-fail: test_cancel
# wall: 20
_plain_cancel = Timer.cancel  # noqa: F821 - defined by the base above


def _cancel(self):  # type: ignore[no-untyped-def]
    block = bytearray(1536 << 20)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page (no overcommit)
    _plain_cancel(self)


Timer.cancel = _cancel  # noqa: F821
