"""The exceptions minireactor raises, in one small hierarchy.

Every error the library raises on purpose derives from `MiniReactorError`, and
its message says what went wrong *and what to do instead*. Errors that the
operating system reports about a connection (a reset, a refused connect) are
passed on as the standard `OSError` subclasses (`ConnectionResetError`,
`ConnectionRefusedError`, ...) so that code written for asyncio handles them
unchanged.

Read next: `core.py`, the one object that raises most of these.
"""

from __future__ import annotations


class MiniReactorError(Exception):
    """Base class of every error minireactor raises on purpose."""


class BackendError(MiniReactorError):
    """A backend cannot do what was asked (unknown name, unusable here, a limit)."""


class FileDescriptorTooLarge(BackendError, ValueError):
    """The `select` backend was given a descriptor at or above FD_SETSIZE."""


class ReactorAlreadyRunning(MiniReactorError, RuntimeError):
    """`run()` was called on a reactor that is already running."""


class ReactorNotRestartable(MiniReactorError, RuntimeError):
    """`run()` was called on a reactor that has already shut down."""


class WrongThreadError(MiniReactorError, RuntimeError):
    """A reactor method that is not thread-safe was called from another thread."""


class AddressInUseError(MiniReactorError, OSError):
    """A listening port could not be bound because something already uses it."""


class ConnectTimeoutError(MiniReactorError, TimeoutError):
    """An outgoing connection did not complete within its timeout."""


class ConnectionLimitError(MiniReactorError, ConnectionError):
    """A connection was cut off because it broke a configured limit (buffer, line length)."""


class IdleTimeoutError(MiniReactorError, TimeoutError):
    """A connection was closed because the peer went quiet, or too slow, for too long."""
