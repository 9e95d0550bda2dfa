/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "net.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_unique(t2u_addr *out, size_t *n, size_t cap, const t2u_addr *a) {
    for (size_t i = 0; i < *n; i++)
        if (t2u_addr_equal(&out[i], a)) return 0;
    if (*n == cap) return -1;
    out[(*n)++] = *a;
    return 0;
}

static int parse_port(const char *s, uint16_t *port) {
    char *end;
    if (!*s) return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 65535) return -1;
    *port = (uint16_t)v;
    return 0;
}

/* One entry's addresses: its IPv4 addresses first, then its IPv6 ones (ServerAddressList). */
static int resolve_host(const char *host, uint16_t port, int numeric_only, t2u_addr *out, size_t *n, size_t cap) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    if (numeric_only) hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) return -1;
    for (int family = 4; family <= 6; family += 2)
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            t2u_addr a;
            if (t2u_from_sockaddr(ai->ai_addr, &a) != 0 || a.family != family) continue;
            a.port = port;
            if (add_unique(out, n, cap, &a) != 0) break;
        }
    freeaddrinfo(res);
    return 0;
}

int t2u_resolve_servers_ex(const char *spec, uint16_t default_port, int numeric_only, t2u_addr *out, size_t cap, char *err,
                           size_t errcap) {
    size_t n = 0;
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char entry[300], host[300];
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (len >= sizeof entry) len = sizeof entry - 1;
        memcpy(entry, p, len);
        entry[len] = 0;
        p = comma ? comma + 1 : p + strlen(p);
        if (!len) continue;
        uint16_t port = default_port;
        char *colon = strchr(entry, ':');
        if (entry[0] == '[') {
            char *close = strchr(entry, ']');
            if (!close || (close[1] && (close[1] != ':' || parse_port(close + 2, &port) != 0))) goto bad;
            *close = 0;
            snprintf(host, sizeof host, "%s", entry + 1);
        } else if (colon && !strchr(colon + 1, ':')) {
            *colon = 0;
            if (parse_port(colon + 1, &port) != 0) goto bad;
            snprintf(host, sizeof host, "%s", entry);
        } else {
            snprintf(host, sizeof host, "%s", entry);
        }
        if (port == 0) goto bad;
        if (resolve_host(host, port, numeric_only, out, &n, cap) != 0) {
            snprintf(err, errcap, "cannot resolve server address '%s'", host);
            return -1;
        }
        continue;
    bad:
        snprintf(err, errcap, "'%s' is not HOST, HOST:PORT or [IPv6]:PORT (port 1...65535)", entry);
        return -1;
    }
    if (n == 0) {
        snprintf(err, errcap, "no server given");
        return -1;
    }
    return (int)n;
}

int t2u_resolve_servers(const char *spec, uint16_t default_port, t2u_addr *out, size_t cap, char *err, size_t errcap) {
    return t2u_resolve_servers_ex(spec, default_port, 0, out, cap, err, errcap);
}

int t2u_ipv6_class(const t2u_addr *a) {
    static const uint8_t loopback[16] = {[15] = 1};
    if (a->family != 6) return T2U_V6_NONE;
    if (memcmp(a->ip, loopback, 16) == 0) return T2U_V6_LOOPBACK;
    if ((a->ip[0] & 0xE0) == 0x20) return T2U_V6_GLOBAL;                    /* 2000::/3 */
    if ((a->ip[0] & 0xFE) == 0xFC) return T2U_V6_UNIQUE_LOCAL;              /* fc00::/7 */
    if (a->ip[0] == 0xFE && (a->ip[1] & 0xC0) == 0x80) return T2U_V6_LINK_LOCAL; /* fe80::/10 */
    return T2U_V6_OTHER;
}

int t2u_addr_is_loopback(const t2u_addr *a) {
    return a->family == 4 ? a->ip[0] == 127 : t2u_ipv6_class(a) == T2U_V6_LOOPBACK;
}

int t2u_in_subnet6(const uint8_t ip[16], const t2u_subnet6 *s) {
    int whole = s->prefix / 8, bits = s->prefix % 8;
    if (s->prefix > 128 || memcmp(ip, s->ip, (size_t)whole) != 0) return 0;
    return bits == 0 || ((ip[whole] ^ s->ip[whole]) & (0xFF << (8 - bits)) & 0xFF) == 0;
}

static int unspecified_or_multicast(const t2u_addr *a) {
    static const uint8_t zero[16];
    if (a->family == 4) return memcmp(a->ip, zero, 4) == 0 || (a->ip[0] & 0xF0) == 0xE0;
    return memcmp(a->ip, zero, 16) == 0 || a->ip[0] == 0xFF;
}

size_t t2u_choose_candidates(const t2u_addr *hosts, size_t nhosts, uint16_t port, const t2u_addr *server, t2u_addr *out,
                             size_t cap) {
    t2u_addr v4[T2U_MAX_CANDIDATES], global[T2U_MAX_CANDIDATES], ula[T2U_MAX_CANDIDATES];
    size_t n4 = 0, nglobal = 0, nula = 0, n = 0;
    for (size_t i = 0; i < nhosts; i++) {
        t2u_addr a = hosts[i];
        a.port = port;
        if (t2u_addr_is_loopback(&a) || unspecified_or_multicast(&a)) continue;
        int c = t2u_ipv6_class(&a);
        if (c == T2U_V6_NONE) add_unique(v4, &n4, T2U_MAX_CANDIDATES, &a);
        else if (c == T2U_V6_GLOBAL) add_unique(global, &nglobal, T2U_MAX_CANDIDATES, &a);
        else if (c == T2U_V6_UNIQUE_LOCAL) add_unique(ula, &nula, T2U_MAX_CANDIDATES, &a);
    }
    if (cap > T2U_MAX_CANDIDATES) cap = T2U_MAX_CANDIDATES;
    if (server && t2u_addr_is_loopback(server) && n < cap) {
        out[n] = *server;
        out[n++].port = port;
    }
    size_t nv6 = nglobal + nula, reserved = nv6 < T2U_RESERVED_V6_CANDIDATES ? nv6 : T2U_RESERVED_V6_CANDIDATES;
    for (size_t i = 0; i < n4 && n + reserved < cap; i++) out[n++] = v4[i];
    for (size_t i = 0; i < nglobal && n < cap; i++) out[n++] = global[i];
    for (size_t i = 0; i < nula && n < cap; i++) out[n++] = ula[i];
    return n;
}

size_t t2u_local_candidates(uint16_t port, const t2u_addr *server, t2u_addr *out, size_t cap) {
    t2u_addr hosts[32];
    size_t nhosts = 0;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i && nhosts < sizeof hosts / sizeof hosts[0]; i = i->ifa_next)
            if (i->ifa_addr && (i->ifa_flags & IFF_UP) && t2u_from_sockaddr(i->ifa_addr, &hosts[nhosts]) == 0) nhosts++;
        freeifaddrs(ifs);
    }
    return t2u_choose_candidates(hosts, nhosts, port, server, out, cap);
}

void t2u_to_sockaddr_on(const t2u_addr *a, int ipv6_socket, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (a->family == 6 || ipv6_socket) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        if (a->family == 6) memcpy(&s6->sin6_addr, a->ip, 16);
        else {
            s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xFF; /* ::ffff:a.b.c.d */
            memcpy(&s6->sin6_addr.s6_addr[12], a->ip, 4);
        }
        s6->sin6_port = htons(a->port);
        *len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->ip, 4);
        s4->sin_port = htons(a->port);
        *len = sizeof *s4;
    }
}

void t2u_to_sockaddr(const t2u_addr *a, struct sockaddr_storage *ss, socklen_t *len) { t2u_to_sockaddr_on(a, 0, ss, len); }

int t2u_from_sockaddr(const struct sockaddr *sa, t2u_addr *a) {
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        a->family = 4;
        memcpy(a->ip, &s4->sin_addr, 4);
        a->port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t mapped[12] = {[10] = 0xFF, [11] = 0xFF};
        if (memcmp(&s6->sin6_addr, mapped, 12) == 0) { /* a dual-stack socket's view of IPv4 */
            a->family = 4;
            memcpy(a->ip, s6->sin6_addr.s6_addr + 12, 4);
        } else {
            a->family = 6;
            memcpy(a->ip, &s6->sin6_addr, 16);
        }
        a->port = ntohs(s6->sin6_port);
        return 0;
    }
    return -1;
}
