#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
"""Loopback UDP capture proxy for test vectors: listens on 127.0.0.1:LISTEN, forwards every
datagram to 127.0.0.1:SERVER (one upstream socket per client), and writes one line per datagram:
`c2s|s2c <hex>`. Bounded: exits after SECONDS."""
import select, socket, sys, time

listen_port, server_port, seconds, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(("127.0.0.1", listen_port))
upstream = {}  # client address -> socket toward the server
end = time.time() + seconds
with open(out, "w") as log:
    while time.time() < end:
        socks = [front] + list(upstream.values())
        ready, _, _ = select.select(socks, [], [], 0.2)
        for s in ready:
            data, addr = s.recvfrom(4096)
            if s is front:
                up = upstream.get(addr)
                if up is None:
                    up = upstream[addr] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.connect(("127.0.0.1", server_port))
                up.send(data)
                log.write("c2s %s\n" % data.hex())
            else:
                client = next(a for a, u in upstream.items() if u is s)
                front.sendto(data, client)
                log.write("s2c %s\n" % data.hex())
            log.flush()
