#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
"""NAT behaviour probe of the t2u lab (python3 stdlib only).

  natprobe.py reflect                       in the lab's inet namespace: UDP reflector on
                                            203.0.113.10/.11 ports 3478/3479 and 203.0.113.12:3478
  natprobe.py stun                          in inet: a minimal STUN binding responder on
                                            203.0.113.12:3480 (miniupnpd's ext_perform_stun)
  natprobe.py probe --expect TYPE [--label L]
                                            on a LAN host: measure mapping and filtering, print
                                            them, exit 1 unless the NAT behaves as TYPE

Mapping: one socket sends to 203.0.113.10:3478 and 203.0.113.11:3479; the reflector reports the
source it saw each time. Same external address and port: endpoint-independent mapping (cone);
different: address/port-dependent (symmetric); the host's own address: no NAT.
Filtering: a fresh socket sends to 203.0.113.10:3478 only; the reflector answers from there
(control), from 203.0.113.10:3479 (other port) and from 203.0.113.12:3478 (an address never
contacted). Third address gets in: endpoint-independent filtering (full cone); only the control:
address+port-dependent filtering.
"""
import argparse
import os
import selectors
import socket
import sys
import time

SERVER_A = ("203.0.113.10", 3478)
SERVER_B = ("203.0.113.11", 3479)
ALT_PORT = ("203.0.113.10", 3479)
THIRD = ("203.0.113.12", 3478)
REFLECTOR_ADDRESSES = [SERVER_A, ALT_PORT, ("203.0.113.11", 3478), SERVER_B, THIRD]


def reflect():
    sockets = {}
    selector = selectors.DefaultSelector()
    for address in REFLECTOR_ADDRESSES:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(address)
        sockets[address] = sock
        selector.register(sock, selectors.EVENT_READ)
    print("ready", flush=True)
    deadline = time.monotonic() + 55  # bounded even if nobody stops us
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            try:
                data, source = sock.recvfrom(2048)
            except OSError:
                continue
            words = data.decode("ascii", "replace").split()
            if len(words) != 2:
                continue
            verb, nonce = words
            if verb == "map":
                sock.sendto(f"mapped {nonce} {source[0]} {source[1]}".encode(), source)
            elif verb == "filter":
                sockets[ALT_PORT].sendto(f"altport {nonce}".encode(), source)
                sockets[THIRD].sendto(f"altaddr {nonce}".encode(), source)
                time.sleep(0.05)  # the control arrives last: once it is in, the others had their chance
                sock.sendto(f"control {nonce}".encode(), source)


STUN_ADDRESS = ("203.0.113.12", 3480)


def stun():
    """Answers RFC 5389 binding requests with XOR-MAPPED-ADDRESS from the address they came to.
    CHANGE-REQUEST is ignored: miniupnpd then sees its four probes answered from where it sent
    them, its external address as is, and enables port forwarding (the lab router's WAN address
    is a documentation address, which miniupnpd would otherwise refuse as private)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(STUN_ADDRESS)
    print("ready", flush=True)
    deadline = time.monotonic() + 3600
    sock.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            data, source = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 20 or data[0:2] != b"\x00\x01" or data[4:8] != b"\x21\x12\xa4\x42":
            continue
        port = source[1] ^ 0x2112
        address = bytes(a ^ b for a, b in zip(socket.inet_aton(source[0]), b"\x21\x12\xa4\x42"))
        attribute = b"\x00\x20\x00\x08\x00\x01" + port.to_bytes(2, "big") + address
        sock.sendto(b"\x01\x01" + len(attribute).to_bytes(2, "big") + data[4:20] + attribute, source)


def exchange(sock, destination, request, want, collect_s=0.0, tries=6):
    """Sends request until a reply starting with `want` arrives; returns all replies seen."""
    replies = []
    for _ in range(tries):
        sock.sendto(request.encode(), destination)
        end = time.monotonic() + 0.4
        got = False
        while time.monotonic() < end:
            sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data, source = sock.recvfrom(2048)
            except socket.timeout:
                break
            replies.append((data.decode("ascii", "replace").split(), source))
            if replies[-1][0][0] == want:
                got = True
                end = min(end, time.monotonic() + collect_s)
        if got:
            return replies
    return replies


def local_ip():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect(SERVER_A)
    address = probe.getsockname()[0]
    probe.close()
    return address


def mapped(replies, nonce, source):
    for words, seen_from in replies:
        if len(words) == 4 and words[0] == "mapped" and words[1] == nonce and seen_from == source:
            return words[2], int(words[3])
    return None


def probe(expect, label, final):
    me = local_ip()
    nonce = os.urandom(4).hex()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    local_port = sock.getsockname()[1]
    first = mapped(exchange(sock, SERVER_A, f"map {nonce}", "mapped"), nonce, SERVER_A)
    second = mapped(exchange(sock, SERVER_B, f"map {nonce}", "mapped"), nonce, SERVER_B)
    sock.close()
    if first is None or second is None:
        print(f"natprobe {label}: expect {expect}: no answer from the reflector (mapping test)")
        return None if not final else False

    fresh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fresh.bind(("0.0.0.0", 0))
    replies = exchange(fresh, SERVER_A, f"filter {nonce}", "control", collect_s=0.2)
    fresh.close()
    seen = {words[0] for words, _ in replies if len(words) == 2 and words[1] == nonce}
    if "control" not in seen:
        print(f"natprobe {label}: expect {expect}: no answer from the reflector (filtering test)")
        return None if not final else False

    natted = first[0] != me
    eim = first == second
    preserved = first[1] == local_port
    if "altaddr" in seen:
        filtering = "endpoint-independent"
    elif "altport" in seen:
        filtering = "address-dependent"
    else:
        filtering = "address+port-dependent"
    if not natted:
        measured = "none"
    elif eim and filtering == "endpoint-independent":
        measured = "fullcone"
    elif eim and filtering == "address+port-dependent" and preserved:
        measured = "cone"
    elif not eim and filtering == "address+port-dependent":
        measured = "symmetric"
    else:
        measured = "other"
    verdict = "OK" if measured == expect else "MISMATCH"
    if measured != expect and not final:
        print(f"natprobe {label}: expect {expect}, measured {measured}: measuring again", flush=True)
        return None
    print(f"natprobe {label}: expect {expect}, measured {measured} {verdict}: "
          f"{me}:{local_port} -> {first[0]}:{first[1]} (to {SERVER_A[0]}:{SERVER_A[1]}), "
          f"{second[0]}:{second[1]} (to {SERVER_B[0]}:{SERVER_B[1]}); "
          f"mapping {'endpoint-independent' if eim else 'endpoint-dependent'}, "
          f"port {'preserved' if preserved else 'changed'}; filtering {filtering} "
          f"(other port {'in' if 'altport' in seen else 'dropped'}, "
          f"third address {'in' if 'altaddr' in seen else 'dropped'})", flush=True)
    return measured == expect


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("reflect")
    sub.add_parser("stun")
    probe_parser = sub.add_parser("probe")
    probe_parser.add_argument("--expect", required=True, choices=["none", "fullcone", "cone", "symmetric"])
    probe_parser.add_argument("--label", default="NAT")
    args = parser.parse_args()
    if args.mode == "reflect":
        reflect()
        return 0
    if args.mode == "stun":
        stun()
        return 0
    # A second measurement before calling a NAT wrong: a loaded machine can delay a reply.
    for attempt in range(2):
        result = probe(args.expect, args.label, final=attempt == 1)
        if result is not None:
            return 0 if result else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
