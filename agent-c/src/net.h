/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Socket-side helpers: server lists ("h1:p1,h2:p2", "[v6]:p", names with several addresses),
 * LAN candidates, sockaddr <-> t2u_addr. */
#ifndef T2U_NET_H
#define T2U_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "codec.h"

/* The addresses of every entry, in order, without duplicates (a name: its IPv4 addresses, then
 * its IPv6 ones, as ServerAddressList); IPv4-mapped IPv6 addresses as IPv4. Returns the count, or
 * -1 with err naming the bad entry. Blocks on DNS; numeric_only: names are refused, no lookup. */
int t2u_resolve_servers(const char *spec, uint16_t default_port, t2u_addr *out, size_t cap, char *err, size_t errcap);
int t2u_resolve_servers_ex(const char *spec, uint16_t default_port, int numeric_only, t2u_addr *out, size_t cap, char *err,
                           size_t errcap);

enum { T2U_V6_NONE, T2U_V6_LOOPBACK, T2U_V6_GLOBAL, T2U_V6_UNIQUE_LOCAL, T2U_V6_LINK_LOCAL, T2U_V6_OTHER };
/* NetAddress.ipv6Class: T2U_V6_NONE for IPv4. */
int t2u_ipv6_class(const t2u_addr *a);
int t2u_addr_is_loopback(const t2u_addr *a);
/* Whether ip (16 bytes) is in the subnet s (its first s->prefix bits). */
int t2u_in_subnet6(const uint8_t ip[16], const t2u_subnet6 *s);

/* IPv6 slots kept when IPv4 addresses alone would fill the candidate list (LocalAddresses). */
#define T2U_RESERVED_V6_CANDIDATES 2
/* Host candidates for `port` (LocalAddresses.candidates): the server's loopback address when the
 * server is on loopback, non-loopback IPv4 addresses, then global and unique-local IPv6 ones (no
 * link-local), at most 8, IPv6 keeping 2 slots. t2u_choose_candidates: the choice from `hosts`. */
size_t t2u_local_candidates(uint16_t port, const t2u_addr *server, t2u_addr *out, size_t cap);
size_t t2u_choose_candidates(const t2u_addr *hosts, size_t nhosts, uint16_t port, const t2u_addr *server, t2u_addr *out,
                             size_t cap);
/* ipv6_socket: an IPv4 address as IPv4-mapped IPv6 (a dual-stack socket sends to IPv4 so). */
void t2u_to_sockaddr_on(const t2u_addr *a, int ipv6_socket, struct sockaddr_storage *ss, socklen_t *len);
void t2u_to_sockaddr(const t2u_addr *a, struct sockaddr_storage *ss, socklen_t *len);
/* IPv4-mapped IPv6 (::ffff:a.b.c.d) comes out as IPv4. -1: neither family. */
int t2u_from_sockaddr(const struct sockaddr *sa, t2u_addr *a);

#endif
