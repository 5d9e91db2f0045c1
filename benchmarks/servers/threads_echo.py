"""Echo server with one thread per connection and blocking sockets.

    python -m benchmarks.servers.threads_echo --port 0

The way most people first write a server: the main thread blocks in
`accept()`, and each connection gets a thread that blocks in `recv()` and
`sendall()`. No event loop at all; the kernel's scheduler and the GIL decide
who runs. Its CPU cost includes every thread (the harness reads the process's
/proc counters, which sum all threads, living and ended).

Read next: `twisted_echo.py`.
"""

from __future__ import annotations

import socket
import threading

from benchmarks.servers.common import READ_SIZE, announce, make_parser, set_nodelay


def echo_connection(conn: socket.socket) -> None:
    """Serve one client until it closes: read a chunk, send it all back."""
    with conn:
        set_nodelay(conn)
        try:
            while data := conn.recv(READ_SIZE):
                conn.sendall(data)
        except ConnectionError:
            pass  # the client reset the connection: this thread's work is done


def main() -> None:
    """Entry point: accept forever, one daemon thread per connection."""
    args = make_parser("Thread-per-connection echo server.", ["threads"]).parse_args()
    listener = socket.create_server((args.host, args.port), backlog=args.backlog)
    announce(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        # Daemon threads, so SIGTERM's default action ends the process at once.
        threading.Thread(target=echo_connection, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
