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

int t2u_resolve_servers(const char *spec, uint16_t default_port, t2u_addr *out, size_t cap, char *err, size_t errcap) {
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
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_DGRAM;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
            snprintf(err, errcap, "cannot resolve server address '%s' (IPv4)", host);
            return -1;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            t2u_addr a;
            if (t2u_from_sockaddr(ai->ai_addr, &a) != 0) continue;
            a.port = port;
            if (add_unique(out, &n, cap, &a) != 0) break;
        }
        freeaddrinfo(res);
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

size_t t2u_local_candidates(uint16_t port, int include_loopback, t2u_addr *out, size_t cap) {
    size_t n = 0;
    if (include_loopback && cap) {
        t2u_addr lo = {.family = 4, .ip = {127, 0, 0, 1}, .port = port};
        out[n++] = lo;
    }
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) return n;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)) continue;
        t2u_addr a;
        if (t2u_from_sockaddr(i->ifa_addr, &a) != 0 || a.ip[0] == 127) continue;
        a.port = port;
        if (add_unique(out, &n, cap, &a) != 0) break;
    }
    freeifaddrs(ifs);
    return n;
}

void t2u_to_sockaddr(const t2u_addr *a, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip, 16);
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
        a->family = 6;
        memcpy(a->ip, &s6->sin6_addr, 16);
        a->port = ntohs(s6->sin6_port);
        return 0;
    }
    return -1;
}
