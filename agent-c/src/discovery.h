/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* LAN discovery responder (DiscoveryGate, docs/SECURITY.md §4): SEARCH on the multicast group
 * (or unicast) is answered with SEARCH_REPLY(uuid, our address on that subnet : agent port) only
 * when padded to >= 96 bytes, asking for every device or ours, from a unicast host of one of our
 * subnets, within the per-source (2/s, burst 5) and global (50/s, burst 100) rates, and never
 * larger than the request. */
#ifndef T2U_DISCOVERY_H
#define T2U_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "bucket.h"

#define T2U_DISC_SOURCES 32
#define T2U_DISC_SUBNETS 16

typedef struct {
    int fd;
    const char *uuid;
    uint16_t agent_port;
    uint32_t addr[T2U_DISC_SUBNETS], mask[T2U_DISC_SUBNETS]; /* host order */
    int nsubnets;
    t2u_subnet6 subnets6[T2U_DISC_SUBNETS]; /* IPv6 ones (PunchScope only; discovery is IPv4) */
    int nsubnets6;
    uint64_t subnets_read_ms;
    t2u_bucket global;
    struct { uint32_t ip; t2u_bucket bucket; uint64_t used; } sources[T2U_DISC_SOURCES];
    uint64_t clock, answered, refused;
} t2u_discovery;

/* Binds 0.0.0.0:port and joins `group` on every multicast interface; -1 with err. */
int t2u_discovery_start(t2u_discovery *d, const char *group, uint16_t port, const char *uuid, uint16_t agent_port,
                        uint64_t now, char *err, size_t errcap);
/* Our IPv4 and IPv6 subnets (every interface), refreshed when older than 5 s (also used for PunchScope). */
void t2u_discovery_read_subnets(t2u_discovery *d, uint64_t now);
/* Reads and answers what is waiting on d->fd. */
void t2u_discovery_service(t2u_discovery *d, uint64_t now);
/* The decision on one datagram (tests): reply length (written to out) or 0 (dropped). */
size_t t2u_discovery_decide(t2u_discovery *d, const uint8_t *p, size_t n, uint32_t source_ip, uint64_t now, uint8_t *out,
                            size_t cap);

#endif
