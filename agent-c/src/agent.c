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

#include "../include/t2u_agent.h"
#include "crypto.h"
#include "handshake.h"
#include "keyfile.h"
#include "log.h"
#include "net.h"
#include "signaling.h"

#define T2U_MAX_CONNECTIONS 16

/* An accepted handshake: its cached reply answers a retransmitted initiation (no DH, and the
 * replay guard would refuse the same timestamp). The 1-RTT transport is not implemented yet. */
typedef struct {
    int live;
    uint64_t local_cid, created_ms;
    t2u_hs_session session;
    uint8_t reply[T2U_RESPONSE_MIN + T2U_HS_MAX_PAYLOAD];
    size_t reply_len;
} t2u_conn;

struct t2u_agent {
    t2u_sig sig;
    t2u_hs_responder hs;
    t2u_conn conns[T2U_MAX_CONNECTIONS];
    int fd, wake[2];
    uint16_t port;
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
        case T2U_EV_INTRODUCED:
            t2u_log(T2U_LOG_INFO, "introduced to a client at %s (session %016llx); the transport responder is not "
                    "implemented in this agent yet", t2u_addr_str(&ev.addr, buf, sizeof buf),
                    (unsigned long long)ev.session_id);
            break;
        default:
            break;
        }
    }
}

static void send_pending(t2u_agent *a, uint64_t now) {
    uint8_t out[1500];
    t2u_addr to;
    size_t n;
    for (int i = 0; i < 32 && (n = t2u_sig_poll_transmit(&a->sig, now, out, sizeof out, &to)) > 0; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        t2u_to_sockaddr(&to, &ss, &len);
        if (sendto(a->fd, out, n, 0, (struct sockaddr *)&ss, len) < 0)
            t2u_log(T2U_LOG_DEBUG, "sendto: %s", strerror(errno));
    }
}

static void send_to(t2u_agent *a, const uint8_t *p, size_t n, const t2u_addr *to) {
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_to_sockaddr(to, &ss, &len);
    if (sendto(a->fd, p, n, 0, (struct sockaddr *)&ss, len) < 0) t2u_log(T2U_LOG_DEBUG, "sendto: %s", strerror(errno));
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
            if (a->conns[i].live && a->conns[i].session.peer_cid == icid) {
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
    /* TransportConfig defaults: version 1, 1 MiB connection window, 256 KiB per stream, 1024 streams, 60 s idle. */
    plen += put_varint(params + plen, 1);
    plen += put_varint(params + plen, 1048576);
    plen += put_varint(params + plen, 262144);
    plen += put_varint(params + plen, 1024);
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
            if (!a->conns[i].live) { slot = i; break; }
            if (a->conns[i].created_ms < a->conns[slot].created_ms) slot = i;
        }
        t2u_conn *c = &a->conns[slot];
        t2u_wipe(c, sizeof *c);
        c->live = 1;
        c->local_cid = local_cid;
        c->created_ms = now;
        c->session = session;
        memcpy(c->reply, reply, rlen);
        c->reply_len = rlen;
        t2u_log(T2U_LOG_INFO, "handshake from %s accepted (connection %016llx); the 1-RTT transport is not implemented "
                "in this agent yet", t2u_addr_str(from, buf, sizeof buf), (unsigned long long)local_cid);
        break;
    }
    case T2U_HS_COOKIE:
        t2u_log(T2U_LOG_DEBUG, "under load: cookie reply to %s", t2u_addr_str(from, buf, sizeof buf));
        break;
    default:
        break;
    }
}

static void *run(void *arg) {
    t2u_agent *a = arg;
    uint8_t buf[2048];
    for (;;) {
        uint64_t now = now_ms();
        t2u_sig_handle_timeout(&a->sig, now);
        send_pending(a, now);
        handle_events(a);
        uint64_t deadline = t2u_sig_next_deadline(&a->sig);
        now = now_ms();
        int timeout = deadline == T2U_NEVER ? 60000 : deadline <= now ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
        struct pollfd fds[2] = {{a->fd, POLLIN, 0}, {a->wake[0], POLLIN, 0}};
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) break;
        if (fds[1].revents) break;
        if (!(fds[0].revents & POLLIN)) continue;
        for (int i = 0; i < 64; i++) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            ssize_t n = recvfrom(a->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
            if (n < 0) break;
            t2u_addr from;
            if (t2u_from_sockaddr((struct sockaddr *)&ss, &from) != 0 || n == 0) continue;
            if (buf[0] >= 0x20 && buf[0] <= 0x5F && t2u_sig_is_server(&a->sig, &from))
                t2u_sig_receive(&a->sig, buf, (size_t)n, &from, now_ms());
            else if (buf[0] == 0x01)
                handle_initiation(a, buf, (size_t)n, &from, now_ms());
        }
    }
    return NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_agent(t2u_agent *a) {
    if (a->fd >= 0) close(a->fd);
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
    a->fd = a->wake[0] = a->wake[1] = -1;
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
    sc.classifies_nat = 1;

    a->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in bind_addr = {0};
    bind_addr.sin_family = AF_INET;
    bind_addr.sin_port = htons(c->udp_port);
    if (a->fd < 0 || bind(a->fd, (struct sockaddr *)&bind_addr, sizeof bind_addr) != 0) {
        snprintf(err, errcap, "cannot bind UDP port %u: %s", c->udp_port, strerror(errno));
        goto fail;
    }
    socklen_t blen = sizeof bind_addr;
    getsockname(a->fd, (struct sockaddr *)&bind_addr, &blen);
    a->port = ntohs(bind_addr.sin_port);
    sc.ncandidates = t2u_local_candidates(a->port, sc.servers[0].ip[0] == 127, sc.candidates, T2U_MAX_CANDIDATES);
    if (t2u_sig_init(&a->sig, &sc, now_ms(), err, errcap) != 0) goto fail;
    t2u_hs_init(&a->hs, sc.identity_priv, c->password, now_ms(), 200);
    t2u_wipe(&sc, sizeof sc);
    if (pipe(a->wake) != 0) {
        snprintf(err, errcap, "pipe: %s", strerror(errno));
        goto fail;
    }
    t2u_hex_encode(hex, a->sig.cfg.identity_pub, 32);
    t2u_log(T2U_LOG_INFO, "device agent started: uuid %s udp 0.0.0.0:%u server %s (%zu in list) publicKey %s", a->uuid, a->port,
            t2u_addr_str(t2u_sig_server(&a->sig), buf, sizeof buf), a->sig.cfg.nservers, hex);
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
