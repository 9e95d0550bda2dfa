/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

/* One port, 1-65535, 1-5 digits only. */
static int parse_port(const char *s, size_t n, uint16_t *out) {
    unsigned long v = 0;
    if (n == 0 || n > 5) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535) return -1;
    *out = (uint16_t)v;
    return 0;
}

/* "p", "p,q", "a-b,..." (no empty items): NULL or why not. */
static const char *parse_ports(t2u_rule *r, const char *s) {
    for (;;) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s), *dash = memchr(s, '-', (size_t)(end - s));
        uint16_t lo, hi;
        if (dash ? parse_port(s, (size_t)(dash - s), &lo) != 0 || parse_port(dash + 1, (size_t)(end - dash - 1), &hi) != 0
                 : parse_port(s, (size_t)(end - s), &lo) != 0)
            return "invalid port (1-65535, ranges first-last, separated by commas)";
        if (!dash) hi = lo;
        if (lo > hi) return "empty port range";
        if (r->nports == T2U_MAX_PORT_RANGES) return "more than 16 ports or ranges";
        r->lo[r->nports] = lo;
        r->hi[r->nports] = hi;
        r->nports++;
        if (!comma) return NULL;
        s = comma + 1;
    }
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

/* "*", IPv4[/0-32], IPv6[/0-128] (IPv4-mapped with /96 or longer: an IPv4 rule). */
static const char *parse_network(t2u_rule *r, char *text) {
    if (strcmp(text, "*") == 0) return NULL;
    char *slash = strchr(text, '/');
    int prefix = -1;
    if (slash) {
        *slash = 0;
        size_t n = strlen(slash + 1);
        if (n == 0 || n > 3 || strspn(slash + 1, "0123456789") != n) return "invalid prefix length";
        prefix = atoi(slash + 1);
    }
    if (strchr(text, ':')) {
        if (inet_pton(AF_INET6, text, r->net) != 1) return "invalid IPv6 address";
        if (prefix < 0) prefix = 128;
        if (prefix > 128) return "IPv6 prefix length above 128";
        if (memcmp(r->net, mapped_prefix, 12) == 0 && prefix >= 96) {
            memmove(r->net, r->net + 12, 4);
            memset(r->net + 4, 0, 12);
            r->family = 4;
            r->prefix = prefix - 96;
        } else {
            r->family = 6;
            r->prefix = prefix;
        }
        return NULL;
    }
    if (inet_pton(AF_INET, text, r->net) != 1) return "invalid IPv4 address";
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return "IPv4 prefix length above 32";
    r->family = 4;
    r->prefix = prefix;
    return NULL;
}

int t2u_policy_parse(t2u_policy *p, const char *const *entries, size_t n, char *err, size_t errcap) {
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        char text[128], *host = text, *ports = NULL;
        const char *why = NULL;
        t2u_rule r;
        memset(&r, 0, sizeof r);
        size_t len = strlen(entries[i]);
        if (len == 0) why = "empty entry";
        else if (len >= sizeof text) why = "too long";
        else if (p->n == T2U_MAX_RULES) why = "more than 32 entries";
        if (why) goto bad;
        memcpy(text, entries[i], len + 1);
        char *first = strchr(text, ':');
        if (text[0] == '[') {
            char *close = strchr(text, ']');
            if (!close) { why = "missing ']'"; goto bad; }
            *close = 0;
            host = text + 1;
            if (close[1] && close[1] != ':') { why = "expected ':' after ']'"; goto bad; }
            if (close[1]) ports = close + 2;
        } else if (first && strchr(first + 1, ':')) {
            /* a bare IPv6 address or network: every port */
        } else if (first) {
            *first = 0;
            ports = first + 1;
        }
        if ((why = parse_network(&r, host)) || (ports && (why = parse_ports(&r, ports)))) goto bad;
        p->rules[p->n++] = r;
        continue;
    bad:
        snprintf(err, errcap, "invalid --allow entry '%s': %s (entries: HOST, HOST:PORTS, NETWORK/LEN:PORTS, *:PORTS, "
                 "[IPv6]:PORTS; e.g. 198.51.100.20:554, 203.0.113.0/24:80,443 or [2001:db8::/32]:443)", entries[i], why);
        return -1;
    }
    return 0;
}

static int prefix_match(const uint8_t *a, const uint8_t *net, int prefix) {
    int bytes = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t)bytes) != 0) return 0;
    if (!bits) return 1;
    uint8_t mask = (uint8_t)(0xFF << (8 - bits));
    return (a[bytes] & mask) == (net[bytes] & mask);
}

int t2u_policy_allows(const t2u_policy *p, int family, const uint8_t *ip, uint16_t port) {
    static const uint8_t loopback4[4] = {127, 0, 0, 1}, loopback6[16] = {[15] = 1};
    if (family == 6 && memcmp(ip, mapped_prefix, 12) == 0) family = 4, ip += 12; /* as the IPv4 it carries */
    if (family == 4 ? memcmp(ip, loopback4, 4) == 0 : memcmp(ip, loopback6, 16) == 0) return 1; /* the device itself */
    for (int i = 0; i < p->n; i++) {
        const t2u_rule *r = &p->rules[i];
        if (r->family && (r->family != family || !prefix_match(ip, r->net, r->prefix))) continue;
        if (!r->nports) return 1;
        for (int k = 0; k < r->nports; k++)
            if (port >= r->lo[k] && port <= r->hi[k]) return 1;
    }
    return 0;
}

int t2u_target_parse(const uint8_t *p, size_t n, size_t *need, int *family, uint8_t ip[16], uint16_t *port) {
    *need = 3;
    if (n < 3) return 0;
    if (p[0] != 0xA1 || p[1] != 0) return -1;
    size_t host = p[2] == 0 ? 0 : p[2] == 4 ? 4 : p[2] == 6 ? 16 : 99;
    if (host == 99) return -1;
    *need = 3 + host + 2;
    if (n < *need) return 0;
    *family = p[2];
    memcpy(ip, p + 3, host);
    *port = (uint16_t)(p[3 + host] << 8 | p[4 + host]);
    return *port == 0 ? -1 : (int)*need;
}

/* Target reply (StreamTargetReply): 0xA1 status; ok before the payload, a failure followed by FIN
 * (the client then resets the stream). */
enum { REPLY_OK = 0, REPLY_POLICY = 1, REPLY_REFUSED = 2, REPLY_UNREACHABLE = 3, REPLY_TIMED_OUT = 4, REPLY_BAD_REQUEST = 5,
       REPLY_FAILED = 6 };

static void put_reply(t2u_stream *st, uint8_t status) {
    uint8_t *space;
    if (t2u_send_space(&st->send, &space) < 2) return; /* a fresh stream always has room */
    space[0] = 0xA1;
    space[1] = status;
    t2u_send_wrote(&st->send, 2);
}

static int status_for(int e) {
    return e == ECONNREFUSED ? REPLY_REFUSED
           : (e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN || e == ENETDOWN) ? REPLY_UNREACHABLE
           : e == ETIMEDOUT ? REPLY_TIMED_OUT : REPLY_FAILED;
}

static void refuse(t2u_conn *c, t2u_stream *st, int status, const char *why) {
    (void)c;
    t2u_log(T2U_LOG_INFO, "stream %llu refused: %s", (unsigned long long)st->id, why);
    put_reply(st, (uint8_t)status);
    st->send.fin = 1;
    st->state = T2U_ST_CLOSED;
    if (st->fd >= 0) close(st->fd);
    st->fd = -1;
}

/* After the target answered: a TCP failure resets the stream (StreamBridge.tcpAbortedErrorCode). */
static void abort_stream(t2u_conn *c, t2u_stream *st, const char *why) {
    t2u_log(T2U_LOG_DEBUG, "stream %llu aborted: %s", (unsigned long long)st->id, why);
    t2u_conn_reset_stream(c, st, T2U_TCP_ABORTED);
    st->recv.fin = 1;
    st->recv.final_size = st->recv.base;
    st->recv.have.n = 0;
    if (st->fd >= 0) close(st->fd);
    st->fd = -1;
}

static void start_connect(t2u_conn *c, t2u_stream *st, int family, const uint8_t *ip, uint16_t port) {
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_addr to = {.family = (uint8_t)family, .port = port};
    memcpy(to.ip, ip, family == 6 ? 16 : 4);
    t2u_to_sockaddr(&to, &ss, &len);
    st->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (st->fd < 0) return refuse(c, st, REPLY_FAILED, strerror(errno));
    int one = 1;
    setsockopt(st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(st->fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
        return refuse(c, st, status_for(errno), strerror(errno));
    st->state = T2U_ST_CONNECTING;
}

short t2u_forward_pump(t2u_conn *c, t2u_stream *st, const t2u_policy *policy, short revents) {
    const uint8_t *p1, *p2;
    size_t n1, n2;
    if (st->state == T2U_ST_HEADER) {
        uint8_t head[21], ip[16];
        size_t need = 0, have = t2u_recv_ready(&st->recv, &p1, &n1, &p2, &n2);
        size_t k = have < sizeof head ? have : sizeof head, a = k < n1 ? k : n1;
        memcpy(head, p1, a);
        memcpy(head + a, p2, k - a);
        int family = 0;
        uint16_t port = 0;
        int len = t2u_target_parse(head, k, &need, &family, ip, &port);
        if (len < 0) {
            refuse(c, st, REPLY_BAD_REQUEST, "invalid stream target header");
            return 0;
        }
        if (len == 0) {
            if (st->recv.fin && have == st->recv.final_size - st->recv.base)
                refuse(c, st, REPLY_BAD_REQUEST, "stream ended inside its target header");
            return 0;
        }
        t2u_conn_consumed(c, st, (size_t)len);
        if (family == 0) family = 4, ip[0] = 127, ip[1] = 0, ip[2] = 0, ip[3] = 1;
        if (family == 6 && memcmp(ip, mapped_prefix, 12) == 0) family = 4, memmove(ip, ip + 12, 4); /* ::ffff:a.b.c.d */
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(family == 6 ? AF_INET6 : AF_INET, ip, buf, sizeof buf);
        if (!t2u_policy_allows(policy, family, ip, port)) {
            char why[128];
            snprintf(why, sizeof why, "%s%s%s:%u is not allowed (t2usvr --allow)", family == 6 ? "[" : "", buf,
                     family == 6 ? "]" : "", port);
            refuse(c, st, REPLY_POLICY, why);
            return 0;
        }
        t2u_log(T2U_LOG_DEBUG, "stream %llu -> %s port %u", (unsigned long long)st->id, buf, port);
        start_connect(c, st, family, ip, port);
        return st->fd >= 0 ? POLLOUT : 0;
    }
    if (st->state == T2U_ST_CONNECTING) {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return POLLOUT;
        int e = 0;
        socklen_t l = sizeof e;
        getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &e, &l);
        if (e) {
            refuse(c, st, status_for(e), strerror(e));
            return 0;
        }
        st->state = T2U_ST_OPEN;
        put_reply(st, REPLY_OK);
    }
    if (st->state == T2U_ST_CLOSED) { /* refused: what the client still sends is dropped */
        size_t ready;
        while ((ready = t2u_recv_ready(&st->recv, &p1, &n1, &p2, &n2)) > 0) t2u_conn_consumed(c, st, ready);
        return 0;
    }
    if (st->state != T2U_ST_OPEN) return 0;
    short want = 0;
    /* stream -> TCP */
    while (t2u_recv_ready(&st->recv, &p1, &n1, &p2, &n2) > 0) {
        ssize_t w = write(st->fd, p1, n1);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want |= POLLOUT;
            break;
        }
        if (w <= 0) {
            abort_stream(c, st, "TCP write failed");
            return 0;
        }
        t2u_conn_consumed(c, st, (size_t)w);
    }
    if (t2u_recv_done(&st->recv) && !st->tcp_eof_sent) {
        shutdown(st->fd, SHUT_WR);
        st->tcp_eof_sent = 1;
    }
    /* TCP -> stream */
    uint8_t *space;
    size_t room;
    while ((room = t2u_send_space(&st->send, &space)) > 0) {
        ssize_t r = read(st->fd, space, room);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want |= POLLIN;
            break;
        }
        if (r < 0) {
            abort_stream(c, st, "TCP read failed");
            return 0;
        }
        if (r == 0) {
            st->send.fin = 1;
            break;
        }
        t2u_send_wrote(&st->send, (size_t)r);
    }
    return want;
}

void t2u_forward_closed(t2u_stream *st) {
    t2u_log(T2U_LOG_DEBUG, "stream %llu done (%llu bytes in, %llu out)", (unsigned long long)st->id,
            (unsigned long long)st->recv.base, (unsigned long long)st->send.end);
}
