/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Streams to TCP targets (docs/protocol/transport.md §6): the target header, the allow policy
 * (the device itself always; --allow entries as ForwardingPolicy), non-blocking
 * connect, and pumping bytes between a stream's buffers and its TCP socket. */
#ifndef T2U_FORWARD_H
#define T2U_FORWARD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define T2U_TCP_ABORTED 0x544350u /* "TCP", StreamBridge.tcpAbortedErrorCode */
#define T2U_MAX_RULES 32
#define T2U_MAX_PORT_RANGES 16

/* One allow entry (ForwardingPolicy.Rule): any host, an IPv4 or an IPv6 network; nports 0 =
 * every port. */
typedef struct {
    uint8_t family; /* 0 any, 4, 6 */
    uint8_t net[16];
    int prefix;
    uint16_t lo[T2U_MAX_PORT_RANGES], hi[T2U_MAX_PORT_RANGES];
    int nports;
} t2u_rule;

typedef struct {
    t2u_rule rules[T2U_MAX_RULES];
    int n;
} t2u_policy;

/* ForwardingPolicy entries: "203.0.113.5" (every port), "203.0.113.5:80",
 * "198.51.100.0/24:554,8000-8100", "*:80", "2001:db8::1", "[2001:db8::/32]:443". IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) is an IPv4 rule. 0, or -1 with err naming the entry and what is wrong. */
int t2u_policy_parse(t2u_policy *p, const char *const *entries, size_t n, char *err, size_t errcap);
/* family 4 (ip 4 bytes) or 6 (16 bytes); 127.0.0.1 and ::1 (the device itself) always; an
 * IPv4-mapped IPv6 address is matched as the IPv4 address it carries. */
int t2u_policy_allows(const t2u_policy *p, int family, const uint8_t *ip, uint16_t port);

/* Target header at the start of `p`: 0 need more bytes (*need set), >0 its length, -1 invalid.
 * family 0 = the device itself, 4 = IPv4 (ip), 6 = IPv6 (ip, 16 bytes). */
int t2u_target_parse(const uint8_t *p, size_t n, size_t *need, int *family, uint8_t ip[16], uint16_t *port);

/* Moves bytes for one stream: header, connect, TCP <-> buffers. Returns poll events wanted. */
short t2u_forward_pump(t2u_conn *c, t2u_stream *st, const t2u_policy *policy, short revents);
/* Closing callback for t2u_conn_collect (nothing to do beyond the close the connection does). */
void t2u_forward_closed(t2u_stream *st);

#endif
