/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* LAN discovery responder (DiscoveryGate, docs/SECURITY.md §4): SEARCH on the multicast group
 * (IPv4 239.255.75.50, IPv6 ff02::7011, same port) or unicast is answered with SEARCH_REPLY(uuid,
 * our address on that link : agent port) only when padded to >= 96 bytes, asking for every device
 * or ours, from a unicast host of one of our subnets (IPv6: or link-local), within the per-source
 * (2/s, burst 5) and global (50/s, burst 100; both families) rates, and never larger than the
 * request. */
#ifndef T2U_DISCOVERY_H
#define T2U_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "bucket.h"

#define T2U_DISC_SOURCES 32
#define T2U_DISC_SUBNETS 16
#define T2U_DISC_SUBNETS6 32 /* link-local, global, temporary and ULA addresses of every interface */
#define T2U_DISC_GROUP6 "ff02::7011"

typedef struct {
    int fd, fd6; /* IPv4; IPv6 (IPV6_V6ONLY), -1 when the host has no IPv6 */
    const char *uuid;
    uint16_t agent_port;
    uint32_t addr[T2U_DISC_SUBNETS], mask[T2U_DISC_SUBNETS]; /* host order */
    int nsubnets;
    t2u_subnet6 subnets6[T2U_DISC_SUBNETS6];
    int nsubnets6;
    uint64_t subnets_read_ms;
    t2u_bucket global;
    /* per source: keyed by the IPv6 address, IPv4 as IPv4-mapped (::ffff:a.b.c.d) */
    struct { uint8_t ip[16]; t2u_bucket bucket; uint64_t used; } sources[T2U_DISC_SOURCES];
    uint64_t clock, answered, refused;
} t2u_discovery;

/* Binds 0.0.0.0:port and joins `group` on every multicast interface; -1 with err. Then [::]:port
 * joined to ff02::7011 on every multicast interface with IPv6: without IPv6, IPv4 only (logged). */
int t2u_discovery_start(t2u_discovery *d, const char *group, uint16_t port, const char *uuid, uint16_t agent_port,
                        uint64_t now, char *err, size_t errcap);
void t2u_discovery_stop(t2u_discovery *d);
/* Our IPv4 and IPv6 subnets (every interface), refreshed when older than 5 s (also used for PunchScope). */
void t2u_discovery_read_subnets(t2u_discovery *d, uint64_t now);
/* Reads and answers what is waiting on fd (d->fd or d->fd6). */
void t2u_discovery_service(t2u_discovery *d, int fd, uint64_t now);
/* The decision on one datagram (tests): reply length (written to out) or 0 (dropped). IPv6: the
 * query's interface index and destination address (IPV6_PKTINFO; NULL: unknown). */
size_t t2u_discovery_decide(t2u_discovery *d, const uint8_t *p, size_t n, const t2u_addr *src, unsigned ifindex,
                            const uint8_t *dst, uint64_t now, uint8_t *out, size_t cap);
/* Whether an IPv6 source is answered: link-local (on-link by definition), or a unicast host on one
 * of `s`; ::1 only when it came in on the interface holding ::1 (not spoofed from elsewhere). */
int t2u_discovery_source6_ok(const t2u_subnet6 *s, int n, const uint8_t src[16], unsigned ifindex);
/* The address an IPv6 reply names: the query's destination when it is global, unique-local or
 * loopback, else the first global or unique-local address of interface `ifindex`, else :: (the
 * client then takes the reply's source). */
void t2u_discovery_name6(const t2u_subnet6 *s, int n, unsigned ifindex, const uint8_t *dst, uint8_t out[16]);

#endif
