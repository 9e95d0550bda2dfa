#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# A UDP "firewall" for the interop test's TCP fallback case: listens on 127.0.0.1:GATE and,
# while OPEN_FILE does not exist, drops everything; once it exists, forwards each datagram to
# 127.0.0.1:SERVER and the server's answers back to the last sender (one agent: a NAT with
# one mapping). Logs "sealed" for each forwarded SEALED (0x33) datagram from the agent.
#   udp-gate.py GATE SERVER OPEN_FILE LOG SECONDS
import os, select, socket, sys, time

gate_port, server_port, open_file, log_path, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
outside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
outside.bind(("127.0.0.1", gate_port))
inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
inside.bind(("127.0.0.1", 0))
agent = None
end = time.time() + seconds
with open(log_path, "a", buffering=1) as log:
    while time.time() < end:
        ready, _, _ = select.select([outside, inside], [], [], 0.5)
        for sock in ready:
            data, sender = sock.recvfrom(65535)
            if not os.path.exists(open_file):
                continue
            if sock is outside:
                agent = sender
                inside.sendto(data, ("127.0.0.1", server_port))
                if data[:1] == b"\x33":
                    log.write("sealed\n")
            elif agent is not None:
                outside.sendto(data, agent)
