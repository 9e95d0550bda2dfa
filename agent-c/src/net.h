/* Socket-side helpers: server lists ("h1:p1,h2:p2", "[v6]:p", names with several addresses),
 * LAN candidates, sockaddr <-> t2u_addr. */
#ifndef T2U_NET_H
#define T2U_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "codec.h"

/* IPv4 addresses of every entry, in order, without duplicates (the agent's socket is IPv4, as
 * t2usvr's). Returns the count, or -1 with err naming the bad entry. Blocks on DNS. */
int t2u_resolve_servers(const char *spec, uint16_t default_port, t2u_addr *out, size_t cap, char *err, size_t errcap);
/* Non-loopback IPv4 interface addresses with `port`; 127.0.0.1 first when include_loopback. */
size_t t2u_local_candidates(uint16_t port, int include_loopback, t2u_addr *out, size_t cap);
void t2u_to_sockaddr(const t2u_addr *a, struct sockaddr_storage *ss, socklen_t *len);
int t2u_from_sockaddr(const struct sockaddr *sa, t2u_addr *a);

#endif
