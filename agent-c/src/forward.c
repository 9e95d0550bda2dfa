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

static int parse_ports(t2u_rule *r, const char *s) {
    r->nports = 0;
    while (*s) {
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end == s || lo < 1 || lo > 65535) return -1;
        if (*end == '-') {
            s = end + 1;
            hi = strtol(s, &end, 10);
            if (end == s || hi < lo || hi > 65535) return -1;
        }
        if (r->nports == 8) return -1;
        r->lo[r->nports] = (uint16_t)lo;
        r->hi[r->nports] = (uint16_t)hi;
        r->nports++;
        if (*end == ',') end++;
        else if (*end) return -1;
        s = end;
    }
    return r->nports ? 0 : -1;
}

int t2u_policy_parse(t2u_policy *p, const char *const *entries, size_t n, char *err, size_t errcap) {
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        char text[128], *colon, *slash;
        t2u_rule r;
        memset(&r, 0, sizeof r);
        snprintf(text, sizeof text, "%s", entries[i]);
        colon = strrchr(text, ':');
        if (!colon || p->n == T2U_MAX_RULES) goto bad;
        *colon = 0;
        int len = 32;
        if ((slash = strchr(text, '/'))) {
            *slash = 0;
            char *end;
            len = (int)strtol(slash + 1, &end, 10);
            if (*end || len < 0 || len > 32) goto bad;
        }
        struct in_addr a;
        if (inet_pton(AF_INET, text, &a) != 1 || parse_ports(&r, colon + 1) != 0) goto bad;
        r.mask = len == 0 ? 0 : 0xFFFFFFFFu << (32 - len);
        r.net = ntohl(a.s_addr) & r.mask;
        p->rules[p->n++] = r;
        continue;
    bad:
        snprintf(err, errcap, "invalid --allow entry '%s': expected IPv4[/prefix]:port[,port|first-last...] "
                 "(this agent takes IPv4 rules only), e.g. 198.51.100.20:554 or 203.0.113.0/24:80,443", entries[i]);
        return -1;
    }
    return 0;
}

int t2u_policy_allows(const t2u_policy *p, const uint8_t ip[4], uint16_t port) {
    uint32_t a = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
    if (a == 0x7F000001u) return 1; /* the device itself */
    for (int i = 0; i < p->n; i++) {
        if ((a & p->rules[i].mask) != p->rules[i].net) continue;
        for (int k = 0; k < p->rules[i].nports; k++)
            if (port >= p->rules[i].lo[k] && port <= p->rules[i].hi[k]) return 1;
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

static void start_connect(t2u_conn *c, t2u_stream *st, const uint8_t ip[4], uint16_t port) {
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    memcpy(&sa.sin_addr, ip, 4);
    sa.sin_port = htons(port);
    st->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (st->fd < 0) return refuse(c, st, REPLY_FAILED, strerror(errno));
    int one = 1;
    setsockopt(st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(st->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
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
        if (family == 0) ip[0] = 127, ip[1] = 0, ip[2] = 0, ip[3] = 1;
        if (family == 6) {
            refuse(c, st, REPLY_FAILED, "IPv6 targets are not supported by this agent");
            return 0;
        }
        char buf[32];
        inet_ntop(AF_INET, ip, buf, sizeof buf);
        if (!t2u_policy_allows(policy, ip, port)) {
            char why[96];
            snprintf(why, sizeof why, "%s:%u is not allowed (t2usvr --allow)", buf, port);
            refuse(c, st, REPLY_POLICY, why);
            return 0;
        }
        t2u_log(T2U_LOG_DEBUG, "stream %llu -> %s:%u", (unsigned long long)st->id, buf, port);
        start_connect(c, st, ip, port);
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
