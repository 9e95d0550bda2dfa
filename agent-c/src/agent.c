/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The agent's shell: one UDP socket (signaling; later transport), one thread, poll(2) with the
 * sans-IO signaling client's deadline; a pipe wakes it for stop(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "../include/t2u_agent.h"
#include "crypto.h"
#include "discovery.h"
#include "fallback.h"
#include "forward.h"
#include "handshake.h"
#include "transport.h"
#include "traversal.h"
#include "keyfile.h"
#include "log.h"
#include "net.h"
#include "signaling.h"

#define T2U_MAX_CONNECTIONS 16
#define T2U_PLANS 4
#define T2U_ROUTES 128

/* An accepted handshake: its cached reply answers a retransmitted initiation (no DH, and the
 * replay guard would refuse the same timestamp). */
typedef struct {
    t2u_conn *conn; /* NULL: free slot */
    uint64_t created_ms;
    uint8_t reply[T2U_RESPONSE_MIN + T2U_HS_MAX_PAYLOAD];
    size_t reply_len;
} t2u_accepted;

struct t2u_agent {
    t2u_sig sig;
    t2u_hs_responder hs;
    t2u_accepted conns[T2U_MAX_CONNECTIONS];
    t2u_policy policy;
    int relay_only; /* T2U_AGENT_RELAY_ONLY=1 (tests): transport only through the server's relay */
    int discovering;
    t2u_discovery discovery;
    t2u_punch_plan punches[T2U_PLANS]; /* the latest introductions' plans */
    t2u_traversal_config traversal;
    t2u_punch_budget budget;
    /* Auxiliary sockets (birthday role): slot -> fd (-1 free), the session that opened it and
     * its number in that plan (1...K). */
    struct { int fd; int number; uint64_t session; } aux[T2U_BIRTHDAY_SOCKETS_MAX];
    int naux; /* open */
    /* Senders heard on an auxiliary socket are answered through it (its NAT mapping). */
    struct { t2u_addr addr; int slot; uint64_t used; } routes[T2U_ROUTES];
    uint64_t aux_check_ms;
    int fd, wake[2];
    int gso_off; /* the kernel refused UDP segmentation offload: one datagram per sendto */
    int ipv6; /* the main socket is dual-stack (AF_INET6, IPv4 as mapped addresses) */
    uint16_t port;
    /* The TCP fallback to the server (tcp_port 0: off): the selector for path_server (the
     * signaling client's current server), the stream's socket (-1: none), whether its connect
     * finished, and by when the upgrade must have been answered. */
    uint16_t tcp_port;
    t2u_path path;
    t2u_addr path_server;
    int sfd, sconnected;
    uint64_t sdeadline, sdropped;
    t2u_fb_rx srx;
    t2u_fb_tx stx;
    pthread_t thread;
    char *uuid, *extra, *state_path, *rotate_from;
    uint8_t *certificate;
    void (*on_status)(void *, int, const char *);
    void *ctx;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void status(t2u_agent *a, int st, const char *message) {
    if (a->on_status) a->on_status(a->ctx, st, message);
}

static void handle_events(t2u_agent *a) {
    t2u_sig_event ev;
    char buf[64], hex[65];
    while (t2u_sig_poll_event(&a->sig, &ev)) {
        switch (ev.kind) {
        case T2U_EV_STATUS:
            if (ev.status == T2U_SIG_REGISTERED) {
                t2u_log(T2U_LOG_INFO, "registered with %s", t2u_addr_str(t2u_sig_server(&a->sig), buf, sizeof buf));
                if (a->rotate_from) {
                    /* The server bound this UUID to the new key: it becomes the state file. */
                    if (rename(a->state_path, a->rotate_from) == 0)
                        t2u_log(T2U_LOG_NOTICE, "key rotation done: the server bound this UUID to the new key (state %s)",
                                a->rotate_from);
                    else if (errno != ENOENT)
                        t2u_log(T2U_LOG_ERROR, "key rotation: cannot rename %s over %s: %s", a->state_path, a->rotate_from,
                                strerror(errno));
                }
                status(a, T2U_AGENT_REGISTERED, "registered");
            } else if (ev.status == T2U_SIG_KEY_REJECTED) {
                t2u_log(T2U_LOG_ERROR, "server %s: its key is not the svrkey given (or it could not open our REGISTER); "
                        "retrying every 8 s. Check svrkey against `t2u-server --print-public-key`",
                        t2u_addr_str(t2u_sig_server(&a->sig), buf, sizeof buf));
                status(a, T2U_AGENT_KEY_REJECTED, "server key rejected");
            } else {
                t2u_log(T2U_LOG_NOTICE, "registration lost; registering again");
                status(a, T2U_AGENT_CONNECTING, "connecting");
            }
            break;
        case T2U_EV_REFUSED:
            t2u_log(T2U_LOG_ERROR, "server %s refused the registration (error %u: %s); retrying every 8 s",
                    t2u_addr_str(t2u_sig_server(&a->sig), buf, sizeof buf), ev.code,
                    ev.code == T2U_ERR_IDENTITY_CONFLICT ? "this UUID is bound to another device key: restore the state "
                                                           "file, rotate with --rotate-key, or ask the operator to release it"
                    : ev.code == T2U_ERR_NOT_ENROLLED ? "closed enrollment: give a vendor certificate with --cert"
                                                      : "server at capacity");
            status(a, T2U_AGENT_REFUSED, "registration refused");
            break;
        case T2U_EV_UNPINNED:
            t2u_hex_encode(hex, ev.key, 32);
            t2u_log(T2U_LOG_WARNING, "the server is not authenticated (no svrkey given): pin its key by passing %s as the "
                    "fourth argument (t2u-server --print-public-key)", hex);
            break;
        case T2U_EV_OBSERVED:
            t2u_log(T2U_LOG_DEBUG, "server sees us at %s", t2u_addr_str(&ev.addr, buf, sizeof buf));
            break;
        case T2U_EV_NAT:
            t2u_log(T2U_LOG_INFO, "NAT behaviour: kind %u delta %d", ev.nat.kind, ev.nat.delta);
            break;
        case T2U_EV_INTRODUCED: {
            /* Open our NAT toward the client (its probes then get through); oldest plan replaced. */
            size_t slot = 0;
            for (size_t i = 0; i < T2U_PLANS; i++) {
                if (a->punches[i].live && a->punches[i].session_id == ev.session_id) goto introduced; /* repeated */
                if (!a->punches[i].live || a->punches[i].started_ms < a->punches[slot].started_ms) slot = i;
            }
            t2u_discovery subnets; /* only its subnet table */
            subnets.subnets_read_ms = 0;
            subnets.nsubnets = subnets.nsubnets6 = 0;
            t2u_discovery_read_subnets(&subnets, now_ms());
            t2u_punch_plan *p = &a->punches[slot];
            /* The client sends first this time (punch order): our plan starts later. */
            int n = t2u_punch_plan_init(p, ev.session_id, &ev.addr, ev.candidates, ev.ncandidates, subnets.addr, subnets.mask,
                                        subnets.nsubnets, subnets.subnets6, subnets.nsubnets6, now_ms() + ev.punch_delay_ms);
            t2u_traversal_config cfg = a->traversal;
            if (cfg.birthday_sockets > T2U_BIRTHDAY_SOCKETS_MAX - a->naux) cfg.birthday_sockets = T2U_BIRTHDAY_SOCKETS_MAX - a->naux;
            int strategies = t2u_punch_plan_strategies(p, a->sig.nat, ev.nat, &cfg);
            t2u_log(T2U_LOG_INFO, "introduced to a client at %s (session %016llx, client NAT kind %u delta %d): punching %d "
                    "address(es)%s%s%s", t2u_addr_str(&ev.addr, buf, sizeof buf), (unsigned long long)ev.session_id, ev.nat.kind,
                    ev.nat.delta, n, ev.punch_delay_ms ? " after the client (its last sessions stayed relayed)" : "",
                    strategies & T2U_STRAT_PREDICTION && p->npredicted ? ", port prediction" : "",
                    strategies & T2U_STRAT_RELAY_ONLY ? "; both NATs allocate ports per destination without a pattern: relay "
                                                        "only beyond the LAN"
                    : p->sockets ? ", birthday probing from auxiliary sockets"
                    : p->nspray  ? ", birthday spray" : "");
            if (strategies & T2U_STRAT_BIRTHDAY && t2u_nat_random(a->sig.nat) && !p->sockets)
                t2u_log(T2U_LOG_INFO, "no birthday probing: no auxiliary sockets (--birthday-sockets 0, or all in use)");
        introduced:
            break;
        }
        default:
            break;
        }
    }
}

static int divert(t2u_agent *a, const uint8_t *p, size_t n, const t2u_addr *to, int awaits, uint64_t now);

static void send_pending(t2u_agent *a, uint64_t now) {
    uint8_t out[1500];
    t2u_addr to;
    size_t n;
    for (int i = 0; i < 32 && (n = t2u_sig_poll_transmit(&a->sig, now, out, sizeof out, &to)) > 0; i++) {
        if (divert(a, out, n, &to, a->sig.awaits, now)) continue;
        struct sockaddr_storage ss;
        socklen_t len;
        t2u_to_sockaddr_on(&to, a->ipv6, &ss, &len);
        if (sendto(a->fd, out, n, 0, (struct sockaddr *)&ss, len) < 0)
            t2u_log(T2U_LOG_DEBUG, "sendto: %s", strerror(errno));
    }
}

/* ipv6: fd is a dual-stack socket (the main one when a->ipv6; auxiliary sockets are IPv4). */
static void send_from(int fd, int ipv6, const uint8_t *p, size_t n, const t2u_addr *to) {
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_to_sockaddr_on(to, ipv6, &ss, &len);
    if (sendto(fd, p, n, 0, (struct sockaddr *)&ss, len) < 0) t2u_log(T2U_LOG_DEBUG, "sendto: %s", strerror(errno));
}

/* The route slot for `to` (-1: none). */
static int route_find(const t2u_agent *a, const t2u_addr *to) {
    for (int i = 0; i < T2U_ROUTES; i++)
        if (a->routes[i].used && t2u_addr_equal(&a->routes[i].addr, to)) return i;
    return -1;
}

/* Transport datagrams go through the auxiliary socket the peer was last heard on, else the main one. */
static void send_to(t2u_agent *a, const uint8_t *p, size_t n, const t2u_addr *to) {
    if (divert(a, p, n, to, 0, 0)) return;
    int r = a->naux ? route_find(a, to) : -1;
    if (r >= 0) send_from(a->aux[a->routes[r].slot].fd, 0, p, n, to);
    else send_from(a->fd, a->ipv6, p, n, to);
}

/* QUIC varint (RFC 9000 16), for the transport parameters. */
static size_t put_varint(uint8_t *p, uint64_t v) {
    if (v < 64) { p[0] = (uint8_t)v; return 1; }
    if (v < 16384) { p[0] = (uint8_t)(0x40 | v >> 8); p[1] = (uint8_t)v; return 2; }
    if (v < 1073741824) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i)); p[0] |= 0x80; return 4; }
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
    p[0] |= 0xC0;
    return 8;
}

/* A HANDSHAKE_INITIATION (0x01) from `from`: directly from a client, or relayed by the server. */
static void handle_initiation(t2u_agent *a, const uint8_t *d, size_t n, const t2u_addr *from, uint64_t now) {
    char buf[64];
    if (t2u_log_level <= T2U_LOG_TRACE && n <= 512) { /* test vectors and dissector work */
        char hex[1025];
        t2u_hex_encode(hex, d, n);
        t2u_log(T2U_LOG_TRACE, "initiation from %s: %s", t2u_addr_str(from, buf, sizeof buf), hex);
    }
    if (n == T2U_INITIATION_LEN) {
        uint64_t icid = t2u_be64(d + 1);
        for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++)
            if (a->conns[i].conn && a->conns[i].conn->peer_cid == icid) {
                uint8_t mac[32], key[32];
                /* A retransmission (mac1 still checked first): the cached reply, where this copy came from. */
                t2u_sha256_2(key, "t2u mac1 v2", 11, a->hs.static_pub, 32);
                t2u_hmac_sha256(mac, key, 32, d, T2U_INIT_MAC1_OFF);
                if (t2u_ct_equal(mac, d + T2U_INIT_MAC1_OFF, 16)) send_to(a, a->conns[i].reply, a->conns[i].reply_len, from);
                return;
            }
    }
    uint8_t params[32], reply[T2U_RESPONSE_MIN + T2U_HS_MAX_PAYLOAD];
    size_t plen = 0, rlen = 0;
    /* Transport parameters (transport.md §3): version 1, our windows and stream limit, 60 s idle. */
    plen += put_varint(params + plen, 1);
    plen += put_varint(params + plen, T2U_CONN_WINDOW);
    plen += put_varint(params + plen, T2U_STREAM_WINDOW);
    plen += put_varint(params + plen, T2U_MAX_STREAMS);
    plen += put_varint(params + plen, 60000);
    t2u_hs_session session;
    uint64_t local_cid = t2u_random_u64();
    int outcome = t2u_hs_respond(&a->hs, d, n, from, now, local_cid, params, plen, reply, &rlen, &session);
    if (rlen) send_to(a, reply, rlen, from);
    switch (outcome) {
    case T2U_HS_REJECTED:
        t2u_log(T2U_LOG_NOTICE, "handshake from %s refused: missing or wrong device password", t2u_addr_str(from, buf, sizeof buf));
        break;
    case T2U_HS_ACCEPTED: {
        size_t slot = 0;
        for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++) {
            if (!a->conns[i].conn) { slot = i; break; }
            if (a->conns[i].created_ms < a->conns[slot].created_ms) slot = i;
        }
        t2u_accepted *acc = &a->conns[slot];
        if (acc->conn) { /* all slots busy: the oldest connection goes */
            t2u_conn_free(acc->conn);
            free(acc->conn);
            acc->conn = NULL;
        }
        t2u_conn *c = malloc(sizeof *c);
        if (!c || t2u_conn_init(c, &session, local_cid, from, now) != 0) {
            free(c);
            t2u_log(T2U_LOG_INFO, "handshake from %s: unusable transport parameters", t2u_addr_str(from, buf, sizeof buf));
            break;
        }
        acc->conn = c;
        acc->created_ms = now;
        memcpy(acc->reply, reply, rlen);
        acc->reply_len = rlen;
        t2u_log(T2U_LOG_INFO, "connection %016llx from %s", (unsigned long long)local_cid, t2u_addr_str(from, buf, sizeof buf));
        break;
    }
    case T2U_HS_COOKIE:
        t2u_log(T2U_LOG_DEBUG, "under load: cookie reply to %s", t2u_addr_str(from, buf, sizeof buf));
        break;
    default:
        break;
    }
}

/* UDP GSO (Linux 4.18+): one sendmsg carries a burst of equal-size datagrams to one peer and
 * the kernel cuts it (per-datagram sendto cost about twice the CPU per GB). At most 16 per
 * burst: 64 halved the loopback throughput (the receiver's queue overflowed, loss followed). */
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define T2U_GSO_SEGMENTS 16
#define T2U_GSO_BYTES 65000

typedef struct {
    uint8_t bytes[T2U_GSO_BYTES + 2048];
    size_t used, segment;
    int count;
    t2u_addr to;
} t2u_burst;

static void send_burst(t2u_agent *a, t2u_burst *b) {
    if (b->used == 0) return;
    if (b->count > 1 && !a->gso_off) {
        struct sockaddr_storage ss;
        socklen_t len;
        t2u_to_sockaddr_on(&b->to, a->ipv6, &ss, &len);
        struct iovec iov = {b->bytes, b->used};
        union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } control;
        memset(&control, 0, sizeof control);
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_name = &ss;
        m.msg_namelen = len;
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control.buf;
        m.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t segment = (uint16_t)b->segment;
        memcpy(CMSG_DATA(c), &segment, sizeof segment);
        if (sendmsg(a->fd, &m, 0) >= 0 || (errno != EIO && errno != EINVAL && errno != ENOPROTOOPT && errno != EOPNOTSUPP)) {
            b->used = 0;
            b->count = 0;
            return;
        }
        a->gso_off = 1;
        t2u_log(T2U_LOG_INFO, "no UDP segmentation offload here (%s): one datagram per send", strerror(errno));
    }
    for (size_t off = 0; off < b->used; off += b->segment)
        send_from(a->fd, a->ipv6, b->bytes + off, b->used - off < b->segment ? b->used - off : b->segment, &b->to);
    b->used = 0;
    b->count = 0;
}

/* Sends what connection `c` has: bursts to one peer over the main socket go out as one GSO send
 * (a shorter datagram ends a burst); datagrams routed through an auxiliary socket one by one. */
static void transmit(t2u_agent *a, t2u_conn *c, uint64_t now) {
    static __thread t2u_burst b;
    t2u_addr to;
    size_t n;
    b.used = 0;
    b.count = 0;
    for (int k = 0; k < 256; k++) {
        if (b.used + 2048 > sizeof b.bytes || b.count == T2U_GSO_SEGMENTS) send_burst(a, &b);
        uint8_t *slot = b.bytes + b.used;
        if ((n = t2u_conn_poll_transmit(c, now, slot, 2048, &to)) == 0) break;
        /* Relayed packets: the peer, not the server, answers them (no silence counted). */
        if (divert(a, slot, n, &to, 0, now)) continue;
        if (a->naux && route_find(a, &to) >= 0) {
            send_to(a, slot, n, &to);
            continue;
        }
        if (b.count > 0 && (!t2u_addr_equal(&to, &b.to) || n > b.segment)) {
            /* another peer, or a larger datagram: the burst so far goes, this one starts the next */
            uint8_t first[2048];
            memcpy(first, slot, n);
            send_burst(a, &b);
            memcpy(b.bytes, first, n);
            slot = b.bytes;
        }
        if (b.count == 0) {
            b.to = to;
            b.segment = n;
        }
        b.used += n;
        b.count++;
        if (n < b.segment) send_burst(a, &b);
    }
    send_burst(a, &b);
}

/* Moves every connection's streams, sends what the connections have, frees finished ones. */
static void service_connections(t2u_agent *a, uint64_t now, struct pollfd *fds, short *events, int *nfds, int cap) {
    for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++) {
        t2u_conn *c = a->conns[i].conn;
        if (!c) continue;
        t2u_conn_handle_timeout(c, now);
        for (int k = 0; k < T2U_MAX_STREAMS; k++) {
            t2u_stream *st = &c->streams[k];
            if (!st->live) continue;
            short revents = 0;
            for (int f = 2; f < *nfds; f++)
                if (fds[f].fd == st->fd) revents = fds[f].revents;
            events[i * T2U_MAX_STREAMS + (size_t)k] = t2u_forward_pump(c, st, &a->policy, revents);
        }
        transmit(a, c, now);
        t2u_conn_collect(c, t2u_forward_closed);
        if (c->closing) {
            char buf[64];
            t2u_log(T2U_LOG_INFO, "connection %016llx with %s closed (%llu bytes in, %llu out)", (unsigned long long)c->local_cid,
                    t2u_addr_str(&c->peer, buf, sizeof buf), (unsigned long long)c->bytes_received,
                    (unsigned long long)c->bytes_sent);
            t2u_conn_free(c);
            free(c);
            a->conns[i].conn = NULL;
        }
    }
    *nfds = 2;
    for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++) {
        t2u_conn *c = a->conns[i].conn;
        if (!c) continue;
        for (int k = 0; k < T2U_MAX_STREAMS && *nfds < cap; k++) {
            t2u_stream *st = &c->streams[k];
            if (!st->live || st->fd < 0) continue;
            fds[*nfds].fd = st->fd;
            fds[*nfds].events = events[i * T2U_MAX_STREAMS + (size_t)k];
            fds[*nfds].revents = 0;
            (*nfds)++;
        }
    }
}

static void open_aux(t2u_agent *a, uint64_t session, int count) {
    int opened = 0;
    for (int slot = 0; slot < T2U_BIRTHDAY_SOCKETS_MAX && opened < count; slot++) {
        if (a->aux[slot].fd >= 0) continue;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in any = {0};
        any.sin_family = AF_INET;
        if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof any) != 0) {
            t2u_log(T2U_LOG_NOTICE, "auxiliary socket %d of %d: %s", opened + 1, count, strerror(errno));
            if (fd >= 0) close(fd);
            break; /* out of descriptors: the plan punches from those it has */
        }
        a->aux[slot].fd = fd;
        a->aux[slot].session = session;
        a->aux[slot].number = ++opened;
        a->naux++;
    }
    t2u_log(T2U_LOG_DEBUG, "session %016llx: %d auxiliary socket(s) open", (unsigned long long)session, opened);
}

static int aux_fd(const t2u_agent *a, uint64_t session, int number) {
    for (int i = 0; i < T2U_BIRTHDAY_SOCKETS_MAX; i++)
        if (a->aux[i].fd >= 0 && a->aux[i].session == session && a->aux[i].number == number) return a->aux[i].fd;
    return -1;
}

static void close_aux(t2u_agent *a, int slot) {
    close(a->aux[slot].fd);
    a->aux[slot].fd = -1;
    a->naux--;
    for (int r = 0; r < T2U_ROUTES; r++)
        if (a->routes[r].used && a->routes[r].slot == slot) a->routes[r].used = 0;
}

/* Whether a connection with this client already runs on a direct path (not through the server). */
static int reached_directly(const t2u_agent *a, const t2u_addr *client) {
    for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++) {
        const t2u_conn *c = a->conns[i].conn;
        if (c && c->peer.family == client->family && memcmp(c->peer.ip, client->ip, client->family == 6 ? 16 : 4) == 0 &&
            !t2u_addr_equal(&c->peer, t2u_sig_server(&a->sig)))
            return 1;
    }
    return 0;
}

static void send_punches(t2u_agent *a, uint64_t now) {
    uint8_t out[T2U_PUNCH_LEN];
    t2u_punch_action act;
    for (size_t i = 0; i < T2U_PLANS; i++) {
        t2u_punch_plan *p = &a->punches[i];
        if (p->live && p->strategies & (T2U_STRAT_PREDICTION | T2U_STRAT_BIRTHDAY) && t2u_punch_deadline(p) <= now &&
            reached_directly(a, &p->reflexive))
            t2u_punch_plan_drop_nat(p);
        while (t2u_punch_poll(p, now, &act) > 0) {
            if (act.kind == T2U_ACT_OPEN_SOCKETS) {
                open_aux(a, p->session_id, act.count);
                continue;
            }
            int fd = act.socket ? aux_fd(a, p->session_id, act.socket) : a->fd;
            if (fd < 0 || t2u_punch_budget_admit(&a->budget, &act.to, now) != T2U_BUDGET_SEND) continue;
            t2u_punch_write(out, p->session_id);
            send_from(fd, fd == a->fd && a->ipv6, out, sizeof out, &act.to);
        }
    }
}

/* Auxiliary sockets of plans whose window ended close, unless a connection's peer is routed
 * through them (that session stays on its NAT mapping until it closes). */
static void release_aux(t2u_agent *a, uint64_t now) {
    if (!a->naux || now < a->aux_check_ms) return;
    a->aux_check_ms = now + 500;
    int carrying[T2U_MAX_CONNECTIONS], closed = 0;
    for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++) {
        int r = a->conns[i].conn ? route_find(a, &a->conns[i].conn->peer) : -1;
        carrying[i] = r >= 0 ? a->routes[r].slot : -1;
    }
    for (int slot = 0; slot < T2U_BIRTHDAY_SOCKETS_MAX; slot++) {
        if (a->aux[slot].fd < 0) continue;
        int keep = 0;
        for (size_t i = 0; i < T2U_PLANS; i++)
            keep |= a->punches[i].session_id == a->aux[slot].session && !t2u_punch_window_ended(&a->punches[i], now);
        for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++) keep |= carrying[i] == slot;
        if (!keep) close_aux(a, slot), closed++;
    }
    if (closed) t2u_log(T2U_LOG_DEBUG, "closed %d auxiliary socket(s); %d still open", closed, a->naux);
}

static uint64_t next_deadline(t2u_agent *a) {
    uint64_t deadline = t2u_sig_next_deadline(&a->sig);
    for (size_t i = 0; i < T2U_PLANS; i++)
        if (t2u_punch_deadline(&a->punches[i]) < deadline) deadline = t2u_punch_deadline(&a->punches[i]);
    if (a->naux && a->aux_check_ms < deadline) deadline = a->aux_check_ms;
    if (a->tcp_port) {
        uint64_t d = t2u_path_deadline(&a->path);
        if (a->sfd >= 0 && a->path.stream == T2U_FB_CONNECTING && a->sdeadline < d) d = a->sdeadline;
        if (d < deadline) deadline = d;
    }
    for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++)
        if (a->conns[i].conn) {
            uint64_t d = t2u_conn_next_deadline(a->conns[i].conn);
            if (d < deadline) deadline = d;
        }
    return deadline;
}

/* A sender heard on auxiliary socket `slot` is answered through it from now on (bounded: the
 * least recently used route goes). */
static void route_note(t2u_agent *a, const t2u_addr *from, int slot, uint64_t now) {
    int r = route_find(a, from);
    if (r < 0) {
        r = 0;
        for (int i = 0; i < T2U_ROUTES; i++) {
            if (!a->routes[i].used) { r = i; break; }
            if (a->routes[i].used < a->routes[r].used) r = i;
        }
        a->routes[r].addr = *from;
    }
    a->routes[r].slot = slot;
    a->routes[r].used = now | 1;
}

/* One datagram (n >= 1) from `from`: over UDP, or down the server's TCP stream. */
static void dispatch(t2u_agent *a, uint8_t *buf, size_t n, const t2u_addr *from, uint64_t now) {
    if (a->relay_only && buf[0] < 0x20 && !t2u_addr_equal(from, t2u_sig_server(&a->sig))) return;
    if (buf[0] >= 0x20 && buf[0] <= 0x5F && t2u_sig_is_server(&a->sig, from))
        t2u_sig_receive(&a->sig, buf, n, from, now);
    else if (buf[0] == 0x01)
        handle_initiation(a, buf, n, from, now);
    else if ((buf[0] == 0x04 || buf[0] == 0x05) && n >= 18) {
        uint64_t cid = t2u_be64(buf + 2);
        for (size_t k = 0; k < T2U_MAX_CONNECTIONS; k++)
            if (a->conns[k].conn && a->conns[k].conn->local_cid == cid) {
                t2u_conn_receive(a->conns[k].conn, buf, n, from, now);
                break;
            }
    }
}

static void fb_udp_heard(t2u_agent *a, uint64_t now);

/* A client's punch (type 0x10, its session ID) on socket `fd`: the session's plan answers it once
 * with a punch back through the same socket (t2u_punch_plan_answer), within the punch budget. */
static void answer_punch(t2u_agent *a, const uint8_t *buf, size_t n, const t2u_addr *from, int fd, uint64_t now) {
    if (n < 9) return;
    uint64_t session = t2u_be64(buf + 1);
    for (size_t i = 0; i < T2U_PLANS; i++) {
        t2u_punch_plan *p = &a->punches[i];
        if (p->session_id != session || !t2u_punch_plan_answer(p, from, now)) continue;
        char where[64];
        if (t2u_punch_budget_admit(&a->budget, from, now) != T2U_BUDGET_SEND) {
            t2u_log(T2U_LOG_DEBUG, "client punch from %s not answered: punch budget", t2u_addr_str(from, where, sizeof where));
            return;
        }
        uint8_t out[T2U_PUNCH_LEN];
        t2u_punch_write(out, session);
        send_from(fd, fd == a->fd && a->ipv6, out, sizeof out, from);
        t2u_log(T2U_LOG_DEBUG, "client punch from %s answered", t2u_addr_str(from, where, sizeof where));
        return;
    }
}

/* Reads what waits on `fd`: the main socket (slot -1) carries signaling and transport; an
 * auxiliary socket transport only (punches to it are dropped). */
static void receive(t2u_agent *a, int fd, int slot) {
    static __thread uint8_t buf[2048];
    for (int i = 0; i < 256; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
        if (n < 0) break;
        t2u_addr from;
        if (t2u_from_sockaddr((struct sockaddr *)&ss, &from) != 0 || n == 0) continue;
        uint64_t now = now_ms();
        if (buf[0] == 0x10) {
            if (slot >= 0) route_note(a, &from, slot, now);
            answer_punch(a, buf, (size_t)n, &from, fd, now);
            continue;
        }
        if (slot >= 0) {
            route_note(a, &from, slot, now);
            if (buf[0] >= 0x10) continue;
        } else if (a->tcp_port && t2u_addr_equal(&from, &a->path_server)) {
            fb_udp_heard(a, now);
        }
        dispatch(a, buf, (size_t)n, &from, now);
    }
}

/* ---- The TCP fallback's shell: the selector's actions on a non-blocking socket. ---- */

/* Server-bound datagrams go down the stream while it carries them (1: taken, queued or dropped
 * when its buffer is full); otherwise over UDP, and one the server answers starts the silence
 * that opens the stream. */
static int divert(t2u_agent *a, const uint8_t *p, size_t n, const t2u_addr *to, int awaits, uint64_t now) {
    if (!a->tcp_port || !t2u_addr_equal(to, &a->path_server)) return 0;
    if (a->path.carries) {
        if (t2u_fb_queue(&a->stx, p, n, 1) != 0 && a->sdropped++ == 0)
            t2u_log(T2U_LOG_INFO, "TCP stream to the server is full: datagrams are dropped until it drains (the transport resends)");
        return 1;
    }
    if (awaits) t2u_path_sent_udp(&a->path, now);
    return 0;
}

static void fb_close(t2u_agent *a) {
    if (a->sdropped)
        t2u_log(T2U_LOG_NOTICE, "TCP stream to the server: %llu datagrams dropped on its full send buffer",
                (unsigned long long)a->sdropped);
    a->sdropped = 0;
    if (a->sfd >= 0) close(a->sfd);
    a->sfd = -1;
    a->sconnected = 0;
    a->srx.upgraded = a->srx.matched = 0;
    a->srx.have = a->stx.off = a->stx.len = 0;
}

/* The stream failed or closed: UDP again, retried later; tries lost on it go again at once. */
static void fb_lost(t2u_agent *a, uint64_t now) {
    int carried = a->path.carries;
    fb_close(a);
    t2u_path_stream_down(&a->path, now);
    if (carried) t2u_sig_retransmit_now(&a->sig, now);
}

static void fb_open(t2u_agent *a, uint64_t now) {
    char host[64], req[128];
    t2u_addr target = a->path_server;
    target.port = a->tcp_port;
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_to_sockaddr(&target, &ss, &len);
    t2u_addr_str(&target, host, sizeof host);
    t2u_log(T2U_LOG_NOTICE, "no answer from the server over UDP: trying TCP to %s", host);
    fb_close(a);
    a->sfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (a->sfd >= 0) setsockopt(a->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (a->sfd < 0 || (connect(a->sfd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)) {
        t2u_log(T2U_LOG_WARNING, "TCP stream to the server %s failed: %s", host, strerror(errno));
        fb_lost(a, now);
        return;
    }
    a->sdeadline = now + 10000; /* the server's own bound on the upgrade */
    t2u_fb_queue(&a->stx, (const uint8_t *)req, t2u_fb_request(req, sizeof req, host), 0);
}

static void fb_act(t2u_agent *a, uint64_t now) {
    int act;
    while ((act = t2u_path_poll_action(&a->path)) != 0) {
        if (act == T2U_FB_OPEN) fb_open(a, now);
        else if (act == T2U_FB_CLOSE) fb_close(a);
        else { /* a HELLO over UDP: the server answers it (a CHALLENGE, ignored), telling UDP works again */
            uint8_t hello[64];
            size_t n = t2u_write_hello(hello, sizeof hello, (uint32_t)t2u_random_u64() | 1, T2U_ROLE_DEVICE);
            send_from(a->fd, a->ipv6, hello, n, &a->path_server);
        }
    }
}

static void fb_udp_heard(t2u_agent *a, uint64_t now) {
    if (a->path.unanswered_since == T2U_FB_NEVER && a->path.stream == T2U_FB_IDLE) return;
    int carried = a->path.carries;
    t2u_path_received_udp(&a->path, now);
    fb_act(a, now);
    if (!carried) return;
    t2u_log(T2U_LOG_NOTICE, "UDP to the server answers again: leaving the TCP fallback");
    t2u_sig_retransmit_now(&a->sig, now);
}

/* A datagram down the stream, as if from the server over UDP; (NULL, 0): the upgrade answered. */
static int fb_deliver(void *ctx, uint8_t *d, size_t n) {
    t2u_agent *a = ctx;
    uint64_t now = now_ms();
    if (d) {
        dispatch(a, d, n, &a->path_server, now);
        return 0;
    }
    t2u_path_stream_up(&a->path, now);
    fb_act(a, now);
    if (a->sfd < 0) return 1; /* UDP answered first: closed */
    t2u_log(T2U_LOG_NOTICE, "server traffic now goes over TCP (UDP to the server is silent)");
    t2u_sig_retransmit_now(&a->sig, now);
    return 0;
}

/* Writes what is queued; -1 when the connection broke. */
static int fb_flush(t2u_agent *a) {
    while (a->sfd >= 0 && a->sconnected && a->stx.off < a->stx.len) {
        ssize_t w = send(a->sfd, a->stx.buf + a->stx.off, a->stx.len - a->stx.off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        a->stx.off += (size_t)w;
    }
    if (a->stx.off == a->stx.len) a->stx.off = a->stx.len = 0;
    return 0;
}

/* The stream's target as text, for its log lines (only formatted when one is written). */
static const char *fb_target(const t2u_agent *a, char *host, size_t cap) {
    t2u_addr target = a->path_server;
    target.port = a->tcp_port;
    return t2u_addr_str(&target, host, cap);
}

static void fb_service(t2u_agent *a, short revents, uint64_t now) {
    static __thread uint8_t buf[16384];
    char err[160], host[64];
    if (!a->sconnected && revents) {
        int e = 0;
        socklen_t elen = sizeof e;
        getsockopt(a->sfd, SOL_SOCKET, SO_ERROR, &e, &elen);
        if (e) {
            t2u_log(T2U_LOG_WARNING, "TCP stream to the server %s failed: %s", fb_target(a, host, sizeof host), strerror(e));
            fb_lost(a, now);
            return;
        }
        a->sconnected = 1;
    }
    for (int i = 0; i < 8 && a->sfd >= 0 && revents & (POLLIN | POLLHUP | POLLERR); i++) {
        ssize_t n = recv(a->sfd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        if (n <= 0) {
            const char *why = n ? strerror(errno) : "closed by the server"; /* before anything else sets errno */
            t2u_log(T2U_LOG_NOTICE, "TCP stream to the server %s: %s", fb_target(a, host, sizeof host), why);
            fb_lost(a, now);
            return;
        }
        if (t2u_fb_feed(&a->srx, buf, (size_t)n, fb_deliver, a, err, sizeof err) < 0) {
            t2u_log(T2U_LOG_WARNING, "TCP stream to the server %s: %s; closing it", fb_target(a, host, sizeof host), err);
            fb_lost(a, now);
            return;
        }
    }
    if (fb_flush(a) != 0) {
        const char *why = strerror(errno);
        t2u_log(T2U_LOG_NOTICE, "TCP stream to the server %s: %s", fb_target(a, host, sizeof host), why);
        fb_lost(a, now);
    }
}

/* Follows the signaling client's server, fires the selector's deadline and the upgrade's. */
static void fb_step(t2u_agent *a, uint64_t now) {
    if (!t2u_addr_equal(&a->path_server, t2u_sig_server(&a->sig))) { /* failover: start over for the new one */
        fb_close(a);
        t2u_path_init(&a->path);
        a->path_server = *t2u_sig_server(&a->sig);
    }
    if (a->sfd >= 0 && a->path.stream == T2U_FB_CONNECTING && now >= a->sdeadline) {
        t2u_log(T2U_LOG_WARNING, "TCP stream to the server: no upgrade within 10 s");
        fb_lost(a, now);
    }
    if (t2u_path_deadline(&a->path) <= now) t2u_path_timeout(&a->path, now);
    fb_act(a, now);
}

static void *run(void *arg) {
    t2u_agent *a = arg;
    /* main, wake, the streams' TCP sockets, discovery (IPv4, IPv6), the server's TCP stream, auxiliary sockets */
    enum { STREAM_FDS = T2U_MAX_CONNECTIONS * T2U_MAX_STREAMS, CAP = 5 + STREAM_FDS + T2U_BIRTHDAY_SOCKETS_MAX };
    struct pollfd fds[CAP];
    short events[STREAM_FDS];
    int aux_slot[T2U_BIRTHDAY_SOCKETS_MAX];
    int nfds = 2;
    for (;;) {
        uint64_t now = now_ms();
        t2u_sig_handle_timeout(&a->sig, now);
        if (a->tcp_port) fb_step(a, now);
        send_pending(a, now);
        handle_events(a);
        send_punches(a, now_ms());
        service_connections(a, now, fds, events, &nfds, 2 + STREAM_FDS);
        release_aux(a, now);
        if (fb_flush(a) != 0) {
            t2u_log(T2U_LOG_NOTICE, "TCP stream to the server: %s", strerror(errno));
            fb_lost(a, now);
        }
        uint64_t deadline = next_deadline(a);
        now = now_ms();
        int timeout = deadline == T2U_NEVER ? 60000 : deadline <= now ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
        fds[0] = (struct pollfd){a->fd, POLLIN, 0};
        fds[1] = (struct pollfd){a->wake[0], POLLIN, 0};
        fds[nfds] = (struct pollfd){a->discovering ? a->discovery.fd : -1, POLLIN, 0};
        fds[nfds + 1] = (struct pollfd){a->discovering ? a->discovery.fd6 : -1, POLLIN, 0};
        fds[nfds + 2] = (struct pollfd){a->sfd, (short)(POLLIN | (!a->sconnected || a->stx.off < a->stx.len ? POLLOUT : 0)), 0};
        int total = nfds + 3;
        for (int slot = 0; slot < T2U_BIRTHDAY_SOCKETS_MAX && a->naux; slot++)
            if (a->aux[slot].fd >= 0) {
                aux_slot[total - nfds - 3] = slot;
                fds[total++] = (struct pollfd){a->aux[slot].fd, POLLIN, 0};
            }
        if (poll(fds, (nfds_t)total, timeout) < 0 && errno != EINTR) break;
        if (fds[1].revents) break;
        for (int f = nfds; f < nfds + 2; f++)
            if (fds[f].revents & POLLIN) t2u_discovery_service(&a->discovery, fds[f].fd, now_ms());
        for (int f = nfds + 3; f < total; f++)
            if (fds[f].revents & POLLIN) receive(a, fds[f].fd, aux_slot[f - nfds - 3]);
        if (fds[0].revents & POLLIN) receive(a, a->fd, -1);
        if (fds[nfds + 2].revents && a->sfd >= 0) fb_service(a, fds[nfds + 2].revents, now_ms());
    }
    return NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_agent(t2u_agent *a) {
    for (size_t i = 0; i < T2U_MAX_CONNECTIONS; i++)
        if (a->conns[i].conn) {
            t2u_conn_free(a->conns[i].conn);
            free(a->conns[i].conn);
        }
    if (a->fd >= 0) close(a->fd);
    if (a->sfd >= 0) close(a->sfd);
    for (int i = 0; i < T2U_BIRTHDAY_SOCKETS_MAX; i++)
        if (a->aux[i].fd >= 0) close(a->aux[i].fd);
    if (a->discovering) t2u_discovery_stop(&a->discovery);
    if (a->wake[0] >= 0) close(a->wake[0]);
    if (a->wake[1] >= 0) close(a->wake[1]);
    free(a->uuid);
    free(a->extra);
    free(a->state_path);
    free(a->rotate_from);
    free(a->certificate);
    t2u_wipe(&a->sig, sizeof a->sig);
    free(a);
}

t2u_agent *t2u_agent_start(const t2u_agent_config *c, char *err, size_t errcap) {
    t2u_sig_config sc;
    char buf[64], hex[65];
    memset(&sc, 0, sizeof sc);
    if (t2u_crypto_init() != 0) {
        snprintf(err, errcap, "libsodium failed to initialise");
        return NULL;
    }
    t2u_agent *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    a->fd = a->wake[0] = a->wake[1] = a->sfd = -1;
    for (int i = 0; i < T2U_BIRTHDAY_SOCKETS_MAX; i++) a->aux[i].fd = -1;
    t2u_traversal_config_default(&a->traversal);
    if (c->birthday_sockets < 0 || c->birthday_sockets > T2U_BIRTHDAY_SOCKETS_MAX) {
        snprintf(err, errcap, "birthday sockets must be 0...%d (auxiliary UDP sockets for birthday probing; 0: none)",
                 T2U_BIRTHDAY_SOCKETS_MAX);
        goto fail;
    }
    a->traversal.birthday_sockets = c->birthday_sockets;
    t2u_punch_budget_init(&a->budget, now_ms());
    t2u_log_level = c->log_level;
    a->on_status = c->on_status;
    a->ctx = c->ctx;
    a->uuid = dup_or_null(c->uuid ? c->uuid : "");
    a->extra = dup_or_null(c->extra ? c->extra : "");
    a->state_path = dup_or_null(c->state_path);
    a->rotate_from = dup_or_null(c->rotate_from);
    if (c->certificate && c->certificate_len) {
        a->certificate = malloc(c->certificate_len);
        if (a->certificate) memcpy(a->certificate, c->certificate, c->certificate_len);
    }
    if (!a->uuid || !a->extra || (c->state_path && !a->state_path) || (c->rotate_from && !a->rotate_from)) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    sc.uuid = a->uuid;
    sc.extra = (const uint8_t *)a->extra;
    sc.extra_len = strlen(a->extra);
    sc.certificate = a->certificate;
    sc.certificate_len = a->certificate ? c->certificate_len : 0;
    if (c->server_key && strspn(c->server_key, " \t\r\n") != strlen(c->server_key)) {
        if (t2u_hex_key(c->server_key, sc.server_key) != 0) {
            snprintf(err, errcap, "svrkey must be the server's public key: 64 hex digits, printed by `t2u-server --print-public-key`");
            goto fail;
        }
        sc.pinned = 1;
    }
    if (a->state_path) {
        if (t2u_keyfile_load(a->state_path, a->rotate_from ? "new key file" : "state file", 1, sc.identity_priv, err, errcap) != 0)
            goto fail;
    } else {
        uint8_t pub[32];
        t2u_x25519_keypair(sc.identity_priv, pub);
    }
    t2u_x25519_public(sc.identity_pub, sc.identity_priv);
    if (a->rotate_from) {
        if (t2u_keyfile_load(a->rotate_from, "state file", 0, sc.old_priv, err, errcap) != 0) goto fail;
        t2u_x25519_public(sc.old_pub, sc.old_priv);
        sc.rotating = 1;
    }
    int n = t2u_resolve_servers(c->server ? c->server : "", c->server_port, sc.servers, T2U_MAX_SERVERS, err, errcap);
    if (n < 0) goto fail;
    sc.nservers = (size_t)n;
    if (t2u_policy_parse(&a->policy, c->allow, c->nallow, err, errcap) != 0) goto fail;
    a->relay_only = getenv("T2U_AGENT_RELAY_ONLY") && strcmp(getenv("T2U_AGENT_RELAY_ONLY"), "1") == 0;
    sc.classifies_nat = 1;

    /* One dual-stack socket (IPv6, and IPv4 as mapped addresses) as t2usvr's "::"; IPv4 only on
     * a host without IPv6. */
    struct sockaddr_storage bind_addr;
    socklen_t blen;
    memset(&bind_addr, 0, sizeof bind_addr);
    a->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (a->fd >= 0) {
        int zero = 0;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&bind_addr;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(c->udp_port);
        blen = sizeof *s6;
        a->ipv6 = 1;
        if (setsockopt(a->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
            snprintf(err, errcap, "setsockopt(IPV6_V6ONLY=0): %s", strerror(errno));
            goto fail;
        }
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&bind_addr;
        a->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(c->udp_port);
        blen = sizeof *s4;
    }
    if (a->fd < 0 || bind(a->fd, (struct sockaddr *)&bind_addr, blen) != 0) {
        snprintf(err, errcap, "cannot bind UDP port %u: %s", c->udp_port, strerror(errno));
        goto fail;
    }
    if (!a->ipv6)
        for (int i = 0; i < n; i++)
            if (sc.servers[i].family == 6) {
                t2u_log(T2U_LOG_WARNING, "this host has no IPv6 (the agent's socket is IPv4 only): the IPv6 servers listed "
                                         "cannot be reached");
                break;
            }
    /* Room for a window's worth of datagrams in each direction (the kernel caps it at rmem_max). */
    int bufsize = 1 << 20;
    setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    setsockopt(a->fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    blen = sizeof bind_addr;
    getsockname(a->fd, (struct sockaddr *)&bind_addr, &blen);
    t2u_addr bound;
    a->port = t2u_from_sockaddr((struct sockaddr *)&bind_addr, &bound) == 0 ? bound.port : 0;
    sc.ncandidates = t2u_local_candidates(a->port, &sc.servers[0], sc.candidates, T2U_MAX_CANDIDATES);
    if (t2u_sig_init(&a->sig, &sc, now_ms(), err, errcap) != 0) goto fail;
    a->tcp_port = c->tcp_port;
    t2u_path_init(&a->path);
    a->path_server = *t2u_sig_server(&a->sig);
    if (c->discovery_port) {
        if (t2u_discovery_start(&a->discovery, c->discovery_group ? c->discovery_group : "239.255.75.50", c->discovery_port,
                                a->uuid, a->port, now_ms(), err, errcap) != 0)
            goto fail;
        a->discovering = 1;
    }
    t2u_hs_init(&a->hs, sc.identity_priv, c->password, now_ms(), 200);
    t2u_wipe(&sc, sizeof sc);
    if (pipe(a->wake) != 0) {
        snprintf(err, errcap, "pipe: %s", strerror(errno));
        goto fail;
    }
    t2u_hex_encode(hex, a->sig.cfg.identity_pub, 32);
    t2u_log(T2U_LOG_INFO, "device agent started: uuid %s udp %s:%u server %s (%zu in list) tcp fallback port %u publicKey %s",
            a->uuid, a->ipv6 ? "[::]" : "0.0.0.0", a->port, t2u_addr_str(t2u_sig_server(&a->sig), buf, sizeof buf),
            a->sig.cfg.nservers, a->tcp_port, hex);
    if (pthread_create(&a->thread, NULL, run, a) != 0) {
        snprintf(err, errcap, "cannot start the agent thread");
        goto fail;
    }
    return a;
fail:
    t2u_wipe(&sc, sizeof sc);
    free_agent(a);
    return NULL;
}

void t2u_agent_stop(t2u_agent *a) {
    if (!a) return;
    ssize_t w = write(a->wake[1], "x", 1);
    (void)w;
    pthread_join(a->thread, NULL);
    status(a, T2U_AGENT_STOPPED, "stopped");
    t2u_log(T2U_LOG_INFO, "device agent stopped");
    free_agent(a);
}

void t2u_agent_public_key(const t2u_agent *a, uint8_t out[32]) { memcpy(out, a->sig.cfg.identity_pub, 32); }
uint16_t t2u_agent_port(const t2u_agent *a) { return a->port; }
