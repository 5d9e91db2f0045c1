"""Demos for the classroom: a chat server and a live dashboard of its loop.

Start one with `minireactor demo chat --port 8000` (students join with
`nc HOST 8000`) or `minireactor demo dashboard --port 8001 --chat-port 8000`
(the same chat, plus a web page that shows the loop working as students
hammer it, and lets the instructor restart it on another backend).
`python -m minireactor.demo chat|dashboard ...` does the same.

Reading order: `room.py` (the room, its limits and flood control),
`chat.py` (the line protocol students speak),
`sse.py` (Server-Sent Events on minireactor's HTTP server), `meters.py`
(loop lag, rates, the downsampled timeline), `dashboard.py` (the web
application and the restart loop), `static/dashboard.html` (the page),
`cli.py` (the commands).
"""

from __future__ import annotations
