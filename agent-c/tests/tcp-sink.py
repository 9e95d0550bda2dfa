#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
"""Loopback TCP test target: `tcp-sink.py PORT OUT SECONDS` accepts connections on 127.0.0.1:PORT;
GET-less protocol: a connection that sends bytes gets nothing back and, at EOF, the SHA-256 of what
it sent is appended to OUT; a connection that sends nothing for 0.5 s receives the file named by
the env var SINK_SERVE (then EOF). Exits after SECONDS."""
import hashlib, os, select, socket, sys, threading, time

port, out, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
serve = os.environ.get("SINK_SERVE")
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
# PORT 0: the system picks a free one (a fixed port in the ephemeral range may be taken by any
# socket); it is written to the file named by SINK_PORT_FILE once listening.
if os.environ.get("SINK_PORT_FILE"):
    with open(os.environ["SINK_PORT_FILE"] + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.replace(os.environ["SINK_PORT_FILE"] + ".tmp", os.environ["SINK_PORT_FILE"])
srv.settimeout(0.2)

def handle(conn):
    with conn:
        ready, _, _ = select.select([conn], [], [], 0.5)
        if not ready and serve:
            with open(serve, "rb") as f:
                while chunk := f.read(65536):
                    conn.sendall(chunk)
            return
        h = hashlib.sha256()
        while data := conn.recv(65536):
            h.update(data)
        with open(out, "a") as f:
            f.write(h.hexdigest() + "\n")

end = time.time() + seconds
while time.time() < end:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
