/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "signaling.h"

#include <stdio.h>
#include <string.h>

static const char ik_name[] = "t2u signaling IK X25519 ChaChaPoly SHA256 v2";

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void emit(t2u_sig *s, const t2u_sig_event *ev) {
    if (s->event_count == sizeof s->events / sizeof s->events[0]) return; /* owner not draining: drop */
    s->events[(s->event_head + s->event_count) % (sizeof s->events / sizeof s->events[0])] = *ev;
    s->event_count++;
}

int t2u_sig_poll_event(t2u_sig *s, t2u_sig_event *ev) {
    if (!s->event_count) return 0;
    *ev = s->events[s->event_head];
    s->event_head = (s->event_head + 1) % (sizeof s->events / sizeof s->events[0]);
    s->event_count--;
    return 1;
}

static void set_status(t2u_sig *s, int status) {
    if (s->status == status) return;
    s->status = status;
    t2u_sig_event ev = {.kind = T2U_EV_STATUS, .status = status};
    emit(s, &ev);
}

static uint32_t new_request_id(t2u_sig *s) { return ++s->next_request_id; }

static void retry_start(t2u_sig *s, t2u_retry *r, uint32_t id, uint64_t now) {
    r->request_id = id;
    r->next_send_at = now;
    r->interval = s->cfg.initial_retransmit_ms;
    r->sends = 0;
}

static void back_off(t2u_sig *s, t2u_retry *r, uint64_t now) {
    r->sends++;
    r->next_send_at = now + r->interval;
    r->interval = min64(r->interval * 2, s->cfg.max_retransmit_ms);
}

const t2u_addr *t2u_sig_server(const t2u_sig *s) { return &s->cfg.servers[s->server_index]; }

t2u_addr t2u_sig_observation(const t2u_sig *s) {
    t2u_addr a = *t2u_sig_server(s);
    if (a.port < 65535) a.port++;
    return a;
}

int t2u_sig_is_server(const t2u_sig *s, const t2u_addr *from) {
    t2u_addr obs = t2u_sig_observation(s);
    return t2u_addr_equal(from, t2u_sig_server(s)) || (s->cfg.classifies_nat && t2u_addr_equal(from, &obs));
}

static void start_hello(t2u_sig *s, uint64_t now) {
    s->phase = T2U_PHASE_HELLO;
    s->token = 0;
    s->keepalive_due = T2U_NEVER;
    s->outbox_count = 0;
    t2u_wipe(s->send_key, 32);
    t2u_wipe(s->recv_key, 32);
    if (s->status == T2U_SIG_REGISTERED) set_status(s, T2U_SIG_CONNECTING);
    retry_start(s, &s->exchange, new_request_id(s), now);
}

/* Starts over at the slowest pace: the operator may fix things on either side. */
static void retry_slowly(t2u_sig *s, uint64_t now) {
    start_hello(s, now);
    s->exchange.next_send_at = now + s->cfg.max_retransmit_ms;
    s->exchange.interval = s->cfg.max_retransmit_ms;
}

int t2u_sig_init(t2u_sig *s, const t2u_sig_config *cfg, uint64_t now, char *err, size_t errcap) {
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (!t2u_uuid_valid((const uint8_t *)cfg->uuid, strlen(cfg->uuid))) {
        snprintf(err, errcap, "a UUID must be 1-64 printable ASCII characters without spaces");
        return -1;
    }
    if (cfg->extra_len > T2U_MAX_EXTRA) {
        snprintf(err, errcap, "--extra must be at most %d UTF-8 bytes", T2U_MAX_EXTRA);
        return -1;
    }
    if (cfg->certificate && (cfg->certificate_len == 0 || cfg->certificate_len > T2U_MAX_CERT)) {
        snprintf(err, errcap, "the certificate must be 1...%d bytes", T2U_MAX_CERT);
        return -1;
    }
    if (cfg->nservers == 0 || cfg->nservers > T2U_MAX_SERVERS) {
        snprintf(err, errcap, "no server given");
        return -1;
    }
    if (!s->cfg.initial_retransmit_ms) s->cfg.initial_retransmit_ms = 500;
    if (!s->cfg.max_retransmit_ms) s->cfg.max_retransmit_ms = 8000;
    if (!s->cfg.max_keepalive_ms) s->cfg.max_keepalive_ms = 20000;
    if (!s->cfg.request_timeout_ms) s->cfg.request_timeout_ms = 10000;
    if (!s->cfg.keepalive_retries) s->cfg.keepalive_retries = 3;
    if (!s->cfg.failover_after_sends) s->cfg.failover_after_sends = 3;
    s->next_request_id = t2u_random_u32();
    s->keepalive_ms = s->cfg.max_keepalive_ms;
    s->probing = 0;
    t2u_replay_init(&s->replay);
    start_hello(s, now);
    return 0;
}

int t2u_rotation_proof(uint8_t proof[32], const uint8_t old_priv[32], const uint8_t server_pub[32], const char *uuid,
                       const uint8_t new_pub[32], const uint8_t *cookie, size_t cookie_len) {
    static const char label[] = "t2u rotate v1";
    uint8_t key[32], msg[sizeof label - 1 + 1 + 255 + 32 + 64];
    size_t n = strlen(uuid), len = 0;
    if (n > 255 || cookie_len > 64 || t2u_x25519(key, old_priv, server_pub) != 0) return -1;
    memcpy(msg, label, sizeof label - 1);
    len = sizeof label - 1;
    msg[len++] = (uint8_t)n;
    memcpy(msg + len, uuid, n);
    len += n;
    memcpy(msg + len, new_pub, 32);
    len += 32;
    memcpy(msg + len, cookie, cookie_len);
    len += cookie_len;
    t2u_hmac_sha256(proof, key, 32, msg, len);
    t2u_wipe(key, sizeof key);
    return 0;
}

/* Builds REGISTER for this CHALLENGE once (retransmitted unchanged). -1: unusable server key. */
static int build_register(t2u_sig *s, uint32_t id, const uint8_t cookie[20], const uint8_t server_key[32]) {
    uint8_t payload[1024], dh[32], eph_pub[32], rotation[64];
    const uint8_t *rot = NULL;
    if (s->cfg.rotating) {
        memcpy(rotation, s->cfg.old_pub, 32);
        if (t2u_rotation_proof(rotation + 32, s->cfg.old_priv, server_key, s->cfg.uuid, s->cfg.identity_pub, cookie,
                               T2U_COOKIE_LEN) == 0)
            rot = rotation;
    }
    size_t plen = t2u_write_registration(payload, sizeof payload, s->cfg.uuid, s->cfg.extra, s->cfg.extra_len,
                                         s->cfg.candidates, s->cfg.ncandidates, s->nat, s->cfg.certificate,
                                         s->cfg.certificate ? s->cfg.certificate_len : 0, rot);
    if (plen == 0 || plen + T2U_TAG_LEN > T2U_MAX_ENCRYPTED) return -1;
    t2u_writer w;
    t2u_writer_init(&w, s->reg, sizeof s->reg);
    t2u_put_u8(&w, T2U_REGISTER);
    t2u_put_u32(&w, id);
    t2u_put_u8(&w, T2U_ROLE_DEVICE);
    t2u_put_bytes(&w, cookie, T2U_COOKIE_LEN);
    t2u_noise *n = &s->noise;
    t2u_noise_init(n, ik_name, server_key);
    t2u_noise_mix_hash(n, s->reg, T2U_REGISTER_HEADER);
    t2u_x25519_keypair(s->eph_priv, eph_pub);
    t2u_noise_mix_hash(n, eph_pub, 32);
    t2u_put_bytes(&w, eph_pub, 32);
    if (t2u_x25519(dh, s->eph_priv, server_key) != 0) return -1;
    t2u_noise_mix_key(n, dh, 32);
    t2u_noise_encrypt_and_hash(n, s->reg + w.len, s->cfg.identity_pub, 32);
    w.len += 48;
    if (t2u_x25519(dh, s->cfg.identity_priv, server_key) != 0) return -1;
    t2u_noise_mix_key(n, dh, 32);
    t2u_noise_encrypt_and_hash(n, s->reg + w.len, payload, plen);
    w.len += plen + T2U_TAG_LEN;
    s->reg_len = w.len;
    memcpy(s->rs, server_key, 32);
    t2u_wipe(dh, sizeof dh);
    return 0;
}

/* Opens REGISTERED; 0 and the channel set up, or -1 (ignored). */
static int complete_register(t2u_sig *s, const t2u_sig_msg *m, uint64_t now) {
    t2u_noise n = s->noise;
    uint8_t dh[32], plain[T2U_MAX_ENCRYPTED];
    uint64_t token;
    uint16_t keepalive;
    t2u_addr observed;
    t2u_noise_mix_hash(&n, m->key, 32);
    if (t2u_x25519(dh, s->eph_priv, m->key) != 0) return -1;
    t2u_noise_mix_key(&n, dh, 32);
    if (t2u_x25519(dh, s->cfg.identity_priv, m->key) != 0) return -1;
    t2u_noise_mix_key(&n, dh, 32);
    t2u_wipe(dh, sizeof dh);
    if (t2u_noise_decrypt_and_hash(&n, plain, m->enc, m->enc_len) != 0) return -1;
    if (t2u_parse_registered(plain, m->enc_len - T2U_TAG_LEN, &token, &keepalive, &observed) != 0) return -1;
    t2u_noise_split(&n, s->send_key, s->recv_key);
    t2u_wipe(&n, sizeof n);
    t2u_wipe(s->eph_priv, 32);
    s->phase = T2U_PHASE_REGISTERED;
    s->token = token;
    s->send_counter = 0;
    t2u_replay_init(&s->replay);
    s->keepalive_ms = min64((uint64_t)(keepalive ? keepalive : 1) * 1000, s->cfg.max_keepalive_ms);
    s->keepalive_due = now + s->keepalive_ms;
    s->exchange.next_send_at = T2U_NEVER;
    s->exchange.sends = 0;
    if (!s->have_observed || !t2u_addr_equal(&observed, &s->observed)) {
        s->have_observed = 1;
        s->observed = observed;
        t2u_sig_event ev = {.kind = T2U_EV_OBSERVED, .addr = observed};
        emit(s, &ev);
    }
    set_status(s, T2U_SIG_REGISTERED);
    if (s->cfg.classifies_nat && !s->probing) {
        s->probing = 1;
        retry_start(s, &s->probe, new_request_id(s), now);
        s->probe_deadline = now + s->cfg.request_timeout_ms;
    }
    return 0;
}

static void keepalive_now(t2u_sig *s, uint64_t now) {
    if (s->phase == T2U_PHASE_REGISTERED && s->exchange.next_send_at == T2U_NEVER)
        retry_start(s, &s->exchange, new_request_id(s), now);
}

static void classify(t2u_sig *s, const t2u_addr *observation, uint64_t now) {
    t2u_nat nat = {0, 0};
    if (s->have_observed && s->observed.family == observation->family &&
        memcmp(s->observed.ip, observation->ip, observation->family == 6 ? 16 : 4) == 0) {
        int local = 0;
        for (size_t i = 0; i < s->cfg.ncandidates; i++) local |= t2u_addr_equal(&s->cfg.candidates[i], &s->observed);
        if (local) nat.kind = 1;
        else if (s->observed.port == observation->port) nat.kind = 2;
        else {
            nat.kind = 3;
            nat.delta = (int32_t)observation->port - (int32_t)s->observed.port;
        }
    }
    if (nat.kind == s->nat.kind && nat.delta == s->nat.delta) return;
    s->nat = nat;
    t2u_sig_event ev = {.kind = T2U_EV_NAT, .nat = nat};
    emit(s, &ev);
    keepalive_now(s, now);
}

static void handle_error(t2u_sig *s, uint32_t id, uint8_t code, uint64_t now) {
    if (id != s->exchange.request_id) {
        s->ignored++;
        return;
    }
    switch (code) {
    case T2U_ERR_SERVER_KEY_REJECTED:
        set_status(s, T2U_SIG_KEY_REJECTED);
        retry_slowly(s, now);
        break;
    case T2U_ERR_IDENTITY_CONFLICT:
    case T2U_ERR_NOT_ENROLLED:
    case T2U_ERR_CAPACITY: {
        t2u_sig_event ev = {.kind = T2U_EV_REFUSED, .code = code};
        emit(s, &ev);
        s->refusals++;
        retry_slowly(s, now);
        break;
    }
    case T2U_ERR_RATE_LIMITED:
        s->exchange.next_send_at = now + s->exchange.interval;
        break;
    default:
        start_hello(s, now);
    }
}

static void queue_channel(t2u_sig *s, const uint8_t *msg, size_t len) {
    if (s->outbox_count == T2U_OUTBOX || len > sizeof s->outbox[0].msg) return; /* retransmitted by the peer */
    memcpy(s->outbox[s->outbox_count].msg, msg, len);
    s->outbox[s->outbox_count].len = len;
    s->outbox_count++;
}

static void receive_sealed(t2u_sig *s, const t2u_sig_msg *m, uint64_t now) {
    switch (m->type) {
    case T2U_KEEPALIVE_ACK:
        if (m->request_id != s->exchange.request_id) {
            s->ignored++;
            return;
        }
        s->exchange.next_send_at = T2U_NEVER;
        s->exchange.sends = 0;
        if (!s->have_observed || !t2u_addr_equal(&m->addr, &s->observed)) {
            s->have_observed = 1;
            s->observed = m->addr;
            t2u_sig_event ev = {.kind = T2U_EV_OBSERVED, .addr = m->addr};
            emit(s, &ev);
        }
        break;
    case T2U_ERROR:
        if (m->code == T2U_ERR_UNKNOWN_SESSION) start_hello(s, now);
        else handle_error(s, m->request_id, m->code, now);
        break;
    case T2U_INTRODUCE: {
        uint8_t ack[64];
        size_t n = t2u_write_introduce_ack(ack, sizeof ack, m->request_id, s->token, m->session_id);
        queue_channel(s, ack, n);
        for (size_t i = 0; i < sizeof s->seen_sessions / sizeof s->seen_sessions[0]; i++)
            if (s->seen_sessions[i] == m->session_id) return; /* a retransmission: acked again only */
        s->seen_sessions[s->seen_next] = m->session_id;
        s->seen_next = (s->seen_next + 1) % (sizeof s->seen_sessions / sizeof s->seen_sessions[0]);
        t2u_sig_event ev = {.kind = T2U_EV_INTRODUCED, .addr = m->addr, .nat = m->nat, .session_id = m->session_id,
                            .cid = m->cid, .relay_allowed = m->relay_allowed, .ncandidates = m->ncandidates,
                            .punch_delay_ms = m->punch_delay_ms};
        memcpy(ev.candidates, m->candidates, sizeof ev.candidates);
        emit(s, &ev);
        break;
    }
    default:
        s->ignored++;
    }
}

static void open_sealed(t2u_sig *s, const t2u_sig_msg *m, const uint8_t *datagram, uint64_t now) {
    uint8_t nonce[12] = {0}, plain[T2U_MAX_ENCRYPTED];
    t2u_sig_msg inner;
    if (s->phase != T2U_PHASE_REGISTERED || m->channel != s->token || !t2u_replay_fresh(&s->replay, m->counter)) {
        s->ignored++;
        return;
    }
    t2u_wbe64(nonce + 4, m->counter);
    if (t2u_aead_open(plain, s->recv_key, nonce, datagram, T2U_SEALED_HEADER, m->enc, m->enc_len) != 0) {
        s->ignored++;
        return;
    }
    t2u_replay_mark(&s->replay, m->counter);
    if (t2u_sig_parse(plain, m->enc_len - T2U_TAG_LEN, &inner, NULL) != 0 || !t2u_sig_is_channel(inner.type)) {
        s->ignored++;
        return;
    }
    receive_sealed(s, &inner, now);
}

void t2u_sig_receive(t2u_sig *s, const uint8_t *p, size_t len, const t2u_addr *from, uint64_t now) {
    t2u_sig_msg m;
    t2u_addr obs = t2u_sig_observation(s);
    int from_server = t2u_addr_equal(from, t2u_sig_server(s));
    if ((!from_server && !(s->cfg.classifies_nat && t2u_addr_equal(from, &obs))) || t2u_sig_parse(p, len, &m, NULL) != 0) {
        s->ignored++;
        return;
    }
    switch (m.type) {
    case T2U_CHALLENGE:
        if (s->phase != T2U_PHASE_HELLO || m.request_id != s->exchange.request_id) break;
        if (s->cfg.pinned && !t2u_ct_equal(s->cfg.server_key, m.key, 32)) {
            set_status(s, T2U_SIG_KEY_REJECTED);
            retry_slowly(s, now);
            return;
        }
        if (!s->cfg.pinned && !s->warned_unpinned) {
            s->warned_unpinned = 1;
            t2u_sig_event ev = {.kind = T2U_EV_UNPINNED};
            memcpy(ev.key, m.key, 32);
            emit(s, &ev);
        }
        {
            uint32_t id = new_request_id(s);
            if (build_register(s, id, m.cookie, m.key) != 0) {
                set_status(s, T2U_SIG_KEY_REJECTED);
                retry_slowly(s, now);
                return;
            }
            s->phase = T2U_PHASE_REGISTERING;
            retry_start(s, &s->exchange, id, now);
        }
        return;
    case T2U_REGISTERED:
        if (s->phase != T2U_PHASE_REGISTERING || m.request_id != s->exchange.request_id || complete_register(s, &m, now) != 0)
            break;
        return;
    case T2U_SEALED:
        if (!from_server) break;
        open_sealed(s, &m, p, now);
        return;
    case T2U_ERROR:
        if (s->phase == T2U_PHASE_REGISTERED) {
            /* Bare errors while registered: only "unknown channel", named by its low 32 bits. */
            if (m.code == T2U_ERR_UNKNOWN_SESSION && m.request_id == (uint32_t)s->token) start_hello(s, now);
            else s->ignored++;
            return;
        }
        handle_error(s, m.request_id, m.code, now);
        return;
    case T2U_PROBE_RESULT:
        if (!s->probing || m.request_id != s->probe.request_id) break;
        s->probing = 0;
        classify(s, &m.addr, now);
        return;
    case T2U_RELAY_UNKNOWN:
        if (!from_server) break;
        {
            t2u_sig_event ev = {.kind = T2U_EV_RELAY_UNKNOWN, .cid = m.cid};
            emit(s, &ev);
        }
        keepalive_now(s, now);
        return;
    default:
        break;
    }
    s->ignored++;
}

/* SEALED around `inner` under the next counter. */
static size_t seal(t2u_sig *s, const uint8_t *inner, size_t len, uint8_t *out, size_t cap) {
    uint8_t nonce[12] = {0};
    if (cap < T2U_SEALED_HEADER + len + T2U_TAG_LEN) return 0;
    out[0] = T2U_SEALED;
    t2u_wbe64(out + 1, s->token);
    t2u_wbe64(out + 9, s->send_counter);
    t2u_wbe64(nonce + 4, s->send_counter);
    s->send_counter++;
    t2u_aead_seal(out + T2U_SEALED_HEADER, s->send_key, nonce, out, T2U_SEALED_HEADER, inner, len);
    return T2U_SEALED_HEADER + len + T2U_TAG_LEN;
}

/* Registration unanswered for failover_after_sends sends: the next server of the list. */
static void fail_over_if_silent(t2u_sig *s, uint64_t now) {
    if (s->cfg.nservers < 2 || s->exchange.sends < s->cfg.failover_after_sends || s->phase == T2U_PHASE_REGISTERED) return;
    s->server_index = (s->server_index + 1) % s->cfg.nservers;
    s->failovers++;
    s->probing = 0;
    start_hello(s, now);
}

size_t t2u_sig_poll_transmit(t2u_sig *s, uint64_t now, uint8_t *out, size_t cap, t2u_addr *to) {
    *to = *t2u_sig_server(s);
    s->awaits = 0; /* INTRODUCE_ACKs and NAT probes: no answer from the main port */
    if (s->outbox_count) {
        size_t n = s->phase == T2U_PHASE_REGISTERED ? seal(s, s->outbox[0].msg, s->outbox[0].len, out, cap) : 0;
        memmove(&s->outbox[0], &s->outbox[1], (s->outbox_count - 1) * sizeof s->outbox[0]);
        s->outbox_count--;
        if (n) return n;
    }
    if (s->exchange.next_send_at <= now) fail_over_if_silent(s, now);
    *to = *t2u_sig_server(s);
    if (s->exchange.next_send_at <= now) {
        s->awaits = 1;
        switch (s->phase) {
        case T2U_PHASE_HELLO:
            back_off(s, &s->exchange, now);
            return t2u_write_hello(out, cap, s->exchange.request_id, T2U_ROLE_DEVICE);
        case T2U_PHASE_REGISTERING:
            back_off(s, &s->exchange, now);
            if (cap < s->reg_len) return 0;
            memcpy(out, s->reg, s->reg_len);
            return s->reg_len;
        default:
            if (s->exchange.sends <= s->cfg.keepalive_retries) {
                uint8_t inner[64];
                size_t n = t2u_write_keepalive(inner, sizeof inner, s->exchange.request_id, s->token, s->nat);
                back_off(s, &s->exchange, now);
                return seal(s, inner, n, out, cap);
            }
        }
    }
    s->awaits = 0;
    if (s->phase == T2U_PHASE_REGISTERED && s->probing && s->probe.next_send_at <= now && s->probe_deadline > now) {
        back_off(s, &s->probe, now);
        *to = t2u_sig_observation(s);
        return t2u_write_probe(out, cap, s->probe.request_id);
    }
    return 0;
}

/* Registered, a keepalive goes at once even if none was due: the new way is a new source for the
 * server, which moves our record (and the relay sessions that follow it) on the first sealed
 * message from there, and drops our relayed datagrams as a stranger's until then. */
void t2u_sig_retransmit_now(t2u_sig *s, uint64_t now) {
    keepalive_now(s, now);
    if (s->exchange.next_send_at != T2U_NEVER && s->exchange.next_send_at > now) s->exchange.next_send_at = now;
}

uint64_t t2u_sig_next_deadline(const t2u_sig *s) {
    if (s->outbox_count) return 0;
    uint64_t next = min64(s->exchange.next_send_at, s->keepalive_due);
    if (s->probing) next = min64(next, min64(s->probe_deadline, s->phase == T2U_PHASE_REGISTERED ? s->probe.next_send_at : T2U_NEVER));
    return next;
}

void t2u_sig_handle_timeout(t2u_sig *s, uint64_t now) {
    if (s->probing && s->probe_deadline <= now) s->probing = 0;
    if (s->phase != T2U_PHASE_REGISTERED) return;
    if (s->keepalive_due <= now) {
        s->keepalive_due = now + s->keepalive_ms;
        keepalive_now(s, now); /* one still being retransmitted keeps its count of tries */
    }
    if (s->exchange.sends > s->cfg.keepalive_retries && s->exchange.next_send_at <= now)
        start_hello(s, now); /* the server stopped answering: restarted, or our NAT mapping changed */
}
