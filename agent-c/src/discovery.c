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
#include "net.h"

/* Our subnets (every interface, loopback included, as the Swift agent), read every 5 s: IPv4
 * for discovery and punch scope, IPv6 (with the interface index) for both as well. */
void t2u_discovery_read_subnets(t2u_discovery *d, uint64_t now) {
    if (d->subnets_read_ms && now - d->subnets_read_ms < 5000) return;
    d->subnets_read_ms = now;
    d->nsubnets = d->nsubnets6 = 0;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) return;
    const char *name = NULL; /* an interface's addresses come together: one if_nametoindex each */
    unsigned index = 0;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 && d->nsubnets6 < T2U_DISC_SUBNETS6) {
            t2u_subnet6 *s = &d->subnets6[d->nsubnets6++];
            memcpy(s->ip, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
            s->prefix = 128; /* no mask: the host alone */
            if (i->ifa_netmask) {
                const uint8_t *m = ((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr.s6_addr;
                s->prefix = 0;
                for (int b = 0; b < 128 && m[b / 8] & (0x80 >> (b % 8)); b++) s->prefix++;
            }
            if (!name || strcmp(name, i->ifa_name) != 0) index = if_nametoindex(name = i->ifa_name);
            s->ifindex = index;
        }
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || d->nsubnets >= T2U_DISC_SUBNETS) continue;
        d->addr[d->nsubnets] = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        d->mask[d->nsubnets] = i->ifa_netmask ? ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr) : 0xFFFFFFFFu;
        d->nsubnets++;
    }
    freeifaddrs(ifs);
}

/* A UDP socket on the wildcard address of its family, port shared; -1 with errno. */
static int open_socket(int family, uint16_t port) {
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6) { /* IPv4 stays on its own socket: answered once */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    t2u_addr any = {.family = family == AF_INET6 ? 6 : 4, .port = port};
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_to_sockaddr(&any, &ss, &len);
    if (bind(fd, (struct sockaddr *)&ss, len) == 0) return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int t2u_discovery_start(t2u_discovery *d, const char *group, uint16_t port, const char *uuid, uint16_t agent_port,
                        uint64_t now, char *err, size_t errcap) {
    memset(d, 0, sizeof *d);
    d->uuid = uuid;
    d->agent_port = agent_port;
    t2u_bucket_init(&d->global, 50, 100, now);
    d->fd = open_socket(AF_INET, port);
    if (d->fd < 0) {
        snprintf(err, errcap, "discovery: cannot bind UDP port %u: %s (--discovery-port, or --no-discovery)", port, strerror(errno));
        d->fd6 = -1;
        return -1;
    }
    d->fd6 = open_socket(AF_INET6, port);
    if (d->fd6 < 0) { /* no IPv6 on this host (else, say why): not fatal */
        int e = errno;
        t2u_log(e == EAFNOSUPPORT || e == EADDRNOTAVAIL ? T2U_LOG_INFO : T2U_LOG_WARNING,
                "discovery: IPv4 only (UDP [::]:%u: %s)", port, strerror(e));
    }
    struct ip_mreq mreq;
    struct ipv6_mreq mreq6;
    int v4 = group && inet_pton(AF_INET, group, &mreq.imr_multiaddr) == 1, joined = 0, joined6 = 0;
    inet_pton(AF_INET6, T2U_DISC_GROUP6, &mreq6.ipv6mr_multiaddr);
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_MULTICAST)) continue;
            if (v4 && i->ifa_addr->sa_family == AF_INET) {
                mreq.imr_interface = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
                joined += setsockopt(d->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) == 0;
            } else if (d->fd6 >= 0 && i->ifa_addr->sa_family == AF_INET6 && (i->ifa_flags & IFF_UP)) {
                /* once per interface: a second address's join fails (EADDRINUSE), not counted */
                mreq6.ipv6mr_interface = if_nametoindex(i->ifa_name);
                joined6 += setsockopt(d->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq6, sizeof mreq6) == 0;
            }
        }
        freeifaddrs(ifs);
    }
    if (!joined) t2u_log(T2U_LOG_WARNING, "discovery: multicast group %s not joined on any interface; answering unicast only",
                         group ? group : "-");
    if (d->fd6 >= 0 && !joined6)
        t2u_log(T2U_LOG_WARNING, "discovery: multicast group %s not joined on any interface; answering IPv6 unicast only",
                T2U_DISC_GROUP6);
    t2u_discovery_read_subnets(d, now);
    return 0;
}

void t2u_discovery_stop(t2u_discovery *d) {
    if (d->fd >= 0) close(d->fd);
    if (d->fd6 >= 0) close(d->fd6);
    d->fd = d->fd6 = -1;
}

int t2u_discovery_source6_ok(const t2u_subnet6 *s, int n, const uint8_t src[16], unsigned ifindex) {
    static const uint8_t unspecified[16];
    if (src[0] == 0xFF || memcmp(src, unspecified, 16) == 0) return 0;
    t2u_addr a = {.family = 6};
    memcpy(a.ip, src, 16);
    int c = t2u_ipv6_class(&a);
    if (c == T2U_V6_LINK_LOCAL) return 1;
    for (int i = 0; i < n; i++) /* ::1: only from the interface holding it */
        if (t2u_in_subnet6(src, &s[i]) && (c != T2U_V6_LOOPBACK || s[i].ifindex == ifindex)) return 1;
    return 0;
}

void t2u_discovery_name6(const t2u_subnet6 *s, int n, unsigned ifindex, const uint8_t *dst, uint8_t out[16]) {
    t2u_addr a = {.family = 6};
    memset(out, 0, 16);
    if (dst) memcpy(a.ip, dst, 16);
    int c = t2u_ipv6_class(&a);
    if (c == T2U_V6_GLOBAL || c == T2U_V6_UNIQUE_LOCAL || c == T2U_V6_LOOPBACK) { /* a unicast query: the address it came to */
        memcpy(out, a.ip, 16);
        return;
    }
    for (int i = 0; i < n; i++) {
        memcpy(a.ip, s[i].ip, 16);
        c = t2u_ipv6_class(&a);
        if (s[i].ifindex == ifindex && (c == T2U_V6_GLOBAL || c == T2U_V6_UNIQUE_LOCAL)) {
            memcpy(out, a.ip, 16);
            return;
        }
    }
}

size_t t2u_discovery_decide(t2u_discovery *d, const uint8_t *p, size_t n, const t2u_addr *src, unsigned ifindex,
                            const uint8_t *dst, uint64_t now, uint8_t *out, size_t cap) {
    t2u_sig_msg m;
    if (n < T2U_MIN_SEARCH || t2u_sig_parse(p, n, &m, NULL) != 0 || m.type != T2U_SEARCH) return 0;
    size_t ulen = strlen(d->uuid);
    if (m.uuid && (m.uuid_len != ulen || memcmp(m.uuid, d->uuid, ulen) != 0)) return 0;
    t2u_discovery_read_subnets(d, now);
    t2u_addr named = {.family = src->family, .port = d->agent_port};
    uint8_t key[16] = {[10] = 0xFF, [11] = 0xFF}; /* the rate tables' key: IPv4 as IPv4-mapped */
    if (src->family == 6) {
        if (!t2u_discovery_source6_ok(d->subnets6, d->nsubnets6, src->ip, ifindex)) return 0;
        t2u_discovery_name6(d->subnets6, d->nsubnets6, ifindex, dst, named.ip);
        memcpy(key, src->ip, 16);
    } else {
        uint32_t s;
        memcpy(&s, src->ip, 4);
        s = ntohl(s);
        int local = -1;
        for (int i = 0; i < d->nsubnets && local < 0; i++) {
            uint32_t host = ~d->mask[i];
            if ((s & d->mask[i]) != (d->addr[i] & d->mask[i])) continue;
            /* not the network or broadcast address of a /30 or larger */
            if (host >= 3 && ((s & host) == 0 || (s & host) == host)) continue;
            local = i;
        }
        if (local < 0) return 0;
        uint32_t mine = htonl(d->addr[local]);
        memcpy(named.ip, &mine, 4);
        memcpy(key + 12, src->ip, 4);
    }
    /* per-source bucket (least recently used replaced), then the global one */
    int slot = 0;
    for (int i = 0; i < T2U_DISC_SOURCES; i++) {
        if (d->sources[i].used && memcmp(d->sources[i].ip, key, 16) == 0) {
            slot = i;
            goto found;
        }
        if (d->sources[i].used < d->sources[slot].used) slot = i;
    }
    memcpy(d->sources[slot].ip, key, 16);
    t2u_bucket_init(&d->sources[slot].bucket, 2, 5, now);
found:
    d->sources[slot].used = ++d->clock;
    if (!t2u_bucket_take(&d->sources[slot].bucket, now) || !t2u_bucket_take(&d->global, now)) return 0;
    size_t r = t2u_write_search_reply(out, cap, m.request_id, d->uuid, &named);
    return r <= n ? r : 0;
}

void t2u_discovery_service(t2u_discovery *d, int fd, uint64_t now) {
    uint8_t buf[1500], out[128];
    union { struct cmsghdr align; uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))]; } ctl;
    for (int i = 0; i < 32; i++) {
        struct sockaddr_storage sa;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
        ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 0) return;
        struct in6_pktinfo info = {0}; /* IPv6: the interface and the address the query came to */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) memcpy(&info, CMSG_DATA(c), sizeof info);
        t2u_addr src;
        size_t r = t2u_from_sockaddr((struct sockaddr *)&sa, &src) == 0
                       ? t2u_discovery_decide(d, buf, (size_t)n, &src, info.ipi6_ifindex, info.ipi6_addr.s6_addr, now, out,
                                              sizeof out)
                       : 0;
        /* back to the source, its scope (link-local: the interface) kept */
        if (r && sendto(fd, out, r, 0, (struct sockaddr *)&sa, mh.msg_namelen) > 0) d->answered++;
        else d->refused++;
    }
}
