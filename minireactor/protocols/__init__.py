"""Protocols: the code that speaks wire formats, above the transports.

Every protocol here subclasses `minireactor.protocol.Protocol` and uses
asyncio's method names, so it runs on minireactor's reactor and, unchanged,
on asyncio's event loop. Nothing in this package touches a socket.

* `basic`: framing, the first job of any stream protocol: lines
  (`LineReceiver`), netstrings and 32-bit length prefixes.
* `http_parser` (on `http_message_parser`), `http_messages`: HTTP/1.1
  messages, parsed "sans-IO".
* `http` (with `http_writer`, `http_stream`, and `http_timeouts` for its
  limits and deadlines): the HTTP/1.1 server;
  `http_client_protocol` and `http_client`: the client.

Read next: `basic.py`.
"""
