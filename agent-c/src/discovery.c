/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Our subnets (every interface, loopback included, as the Swift agent), read every 5 s: IPv4
 * for discovery and punch scope, IPv6 for punch scope. */
void t2u_discovery_read_subnets(t2u_discovery *d, uint64_t now) {
    if (d->subnets_read_ms && now - d->subnets_read_ms < 5000) return;
    d->subnets_read_ms = now;
    d->nsubnets = d->nsubnets6 = 0;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 && d->nsubnets6 < T2U_DISC_SUBNETS) {
            t2u_subnet6 *s = &d->subnets6[d->nsubnets6++];
            memcpy(s->ip, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
            s->prefix = 128; /* no mask: the host alone */
            if (i->ifa_netmask) {
                const uint8_t *m = ((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr.s6_addr;
                s->prefix = 0;
                for (int b = 0; b < 128 && m[b / 8] & (0x80 >> (b % 8)); b++) s->prefix++;
            }
        }
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || d->nsubnets >= T2U_DISC_SUBNETS) continue;
        d->addr[d->nsubnets] = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        d->mask[d->nsubnets] = i->ifa_netmask ? ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr) : 0xFFFFFFFFu;
        d->nsubnets++;
    }
    freeifaddrs(ifs);
}

int t2u_discovery_start(t2u_discovery *d, const char *group, uint16_t port, const char *uuid, uint16_t agent_port,
                        uint64_t now, char *err, size_t errcap) {
    memset(d, 0, sizeof *d);
    d->uuid = uuid;
    d->agent_port = agent_port;
    t2u_bucket_init(&d->global, 50, 100, now);
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(d->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, errcap, "discovery: cannot bind UDP port %u: %s (--discovery-port, or --no-discovery)", port, strerror(errno));
        if (d->fd >= 0) close(d->fd);
        d->fd = -1;
        return -1;
    }
    struct ip_mreq mreq;
    int joined = 0;
    if (group && inet_pton(AF_INET, group, &mreq.imr_multiaddr) == 1) {
        struct ifaddrs *ifs = NULL;
        if (getifaddrs(&ifs) == 0) {
            for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_MULTICAST)) continue;
                mreq.imr_interface = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
                joined += setsockopt(d->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) == 0;
            }
            freeifaddrs(ifs);
        }
    }
    if (!joined) t2u_log(T2U_LOG_WARNING, "discovery: multicast group %s not joined on any interface; answering unicast only",
                         group ? group : "-");
    t2u_discovery_read_subnets(d, now);
    return 0;
}

size_t t2u_discovery_decide(t2u_discovery *d, const uint8_t *p, size_t n, uint32_t src, uint64_t now, uint8_t *out,
                            size_t cap) {
    t2u_sig_msg m;
    if (n < T2U_MIN_SEARCH || t2u_sig_parse(p, n, &m, NULL) != 0 || m.type != T2U_SEARCH) return 0;
    size_t ulen = strlen(d->uuid);
    if (m.uuid && (m.uuid_len != ulen || memcmp(m.uuid, d->uuid, ulen) != 0)) return 0;
    t2u_discovery_read_subnets(d, now);
    int local = -1;
    for (int i = 0; i < d->nsubnets && local < 0; i++) {
        uint32_t host = ~d->mask[i];
        if ((src & d->mask[i]) != (d->addr[i] & d->mask[i])) continue;
        /* not the network or broadcast address of a /30 or larger */
        if (host >= 3 && ((src & host) == 0 || (src & host) == host)) continue;
        local = i;
    }
    if (local < 0) return 0;
    /* per-source bucket (least recently used replaced), then the global one */
    int slot = 0;
    for (int i = 0; i < T2U_DISC_SOURCES; i++) {
        if (d->sources[i].used && d->sources[i].ip == src) {
            slot = i;
            goto found;
        }
        if (d->sources[i].used < d->sources[slot].used) slot = i;
    }
    d->sources[slot].ip = src;
    t2u_bucket_init(&d->sources[slot].bucket, 2, 5, now);
found:
    d->sources[slot].used = ++d->clock;
    if (!t2u_bucket_take(&d->sources[slot].bucket, now) || !t2u_bucket_take(&d->global, now)) return 0;
    t2u_addr a = {.family = 4, .port = d->agent_port};
    uint32_t mine = htonl(d->addr[local]);
    memcpy(a.ip, &mine, 4);
    size_t r = t2u_write_search_reply(out, cap, m.request_id, d->uuid, &a);
    return r <= n ? r : 0;
}

void t2u_discovery_service(t2u_discovery *d, uint64_t now) {
    uint8_t buf[1500], out[128];
    for (int i = 0; i < 32; i++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        ssize_t n = recvfrom(d->fd, buf, sizeof buf, 0, (struct sockaddr *)&sa, &len);
        if (n < 0) return;
        if (sa.sin_family != AF_INET) continue;
        size_t r = t2u_discovery_decide(d, buf, (size_t)n, ntohl(sa.sin_addr.s_addr), now, out, sizeof out);
        if (r && sendto(d->fd, out, r, 0, (struct sockaddr *)&sa, len) > 0) d->answered++;
        else d->refused++;
    }
}
