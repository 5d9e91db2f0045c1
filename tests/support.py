"""Protocols and helpers shared by the transport tests.

`Echo` is the server side of most tests; `Collector` is a client that sends a
payload, gathers what comes back and records every callback in `events`, so
tests can check the callback order as well as the bytes.
"""

from __future__ import annotations

from typing import Any

from minireactor import ClientFactory, Factory, Protocol


class Echo(Protocol):
    """Writes back whatever it receives; closes when the peer does."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Collector(Protocol):
    """Sends `payload`, then half-closes if `half_close`; records everything."""

    def __init__(self, payload: bytes = b"", half_close: bool = False) -> None:
        self.payload = payload
        self.half_close = half_close
        self.received = bytearray()
        self.events: list[str] = []
        self.lost: BaseException | str | None = "not yet"
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.events.append("connection_made")
        self.transport = transport
        if self.payload:
            transport.write(self.payload)
        if self.half_close:
            transport.write_eof()

    def data_received(self, data: bytes) -> None:
        if not self.events or self.events[-1] != "data_received":
            self.events.append("data_received")
        self.received += data

    def eof_received(self) -> bool | None:
        self.events.append("eof_received")
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("connection_lost")
        self.lost = exc

    @property
    def done(self) -> bool:
        return self.lost != "not yet"


class FlowRecorder(Collector):
    """A Collector that also records `pause_writing` / `resume_writing`, in order."""

    def __init__(self, payload: bytes = b"", half_close: bool = False) -> None:
        super().__init__(payload, half_close)
        self.calls: list[str] = []

    def pause_writing(self) -> None:
        self.calls.append("pause_writing")

    def resume_writing(self) -> None:
        self.calls.append("resume_writing")


class RecordingClientFactory(ClientFactory[Any]):
    """A client factory that keeps its protocols and what happened to them."""

    def __init__(self, make: Any = Collector) -> None:
        super().__init__()
        self.make = make
        self.protocols: list[Any] = []
        self.failed: list[BaseException] = []
        self.lost: list[BaseException | None] = []

    def build_protocol(self, addr: Any) -> Any:
        proto = self.make()
        self.protocols.append(proto)
        return proto

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self.failed.append(exc)

    def client_connection_lost(self, connector: Any, exc: BaseException | None) -> None:
        self.lost.append(exc)


def echo_factory() -> Factory[Any]:
    return Factory.for_protocol(Echo)
