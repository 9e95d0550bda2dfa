/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "codec.h"

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

void t2u_reader_init(t2u_reader *r, const uint8_t *p, size_t len) {
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->error = NULL;
}

size_t t2u_reader_left(const t2u_reader *r) { return r->error ? 0 : r->len - r->pos; }

const uint8_t *t2u_get_bytes(t2u_reader *r, size_t n, const char *field) {
    if (r->error) return NULL;
    if (r->len - r->pos < n) {
        r->error = field;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint16_t t2u_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
uint32_t t2u_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
uint64_t t2u_be64(const uint8_t *p) { return ((uint64_t)t2u_be32(p) << 32) | t2u_be32(p + 4); }
void t2u_wbe64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint8_t t2u_get_u8(t2u_reader *r, const char *field) {
    const uint8_t *p = t2u_get_bytes(r, 1, field);
    return p ? p[0] : 0;
}
uint16_t t2u_get_u16(t2u_reader *r, const char *field) {
    const uint8_t *p = t2u_get_bytes(r, 2, field);
    return p ? t2u_be16(p) : 0;
}
uint32_t t2u_get_u32(t2u_reader *r, const char *field) {
    const uint8_t *p = t2u_get_bytes(r, 4, field);
    return p ? t2u_be32(p) : 0;
}
uint64_t t2u_get_u64(t2u_reader *r, const char *field) {
    const uint8_t *p = t2u_get_bytes(r, 8, field);
    return p ? t2u_be64(p) : 0;
}

int t2u_get_bool(t2u_reader *r, const char *field) {
    uint8_t v = t2u_get_u8(r, field);
    if (r->error) return 0;
    if (v > 1) {
        r->error = field;
        return 0;
    }
    return v;
}

int t2u_get_addr(t2u_reader *r, t2u_addr *a, const char *field) {
    memset(a, 0, sizeof *a);
    uint8_t family = t2u_get_u8(r, field);
    if (r->error) return -1;
    size_t n = family == 4 ? 4 : family == 6 ? 16 : 0;
    if (n == 0) {
        r->error = field;
        return -1;
    }
    const uint8_t *ip = t2u_get_bytes(r, n, field);
    if (!ip) return -1;
    a->family = family;
    memcpy(a->ip, ip, n);
    a->port = t2u_get_u16(r, field);
    return r->error ? -1 : 0;
}

void t2u_writer_init(t2u_writer *w, uint8_t *p, size_t cap) {
    w->p = p;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void t2u_put_bytes(t2u_writer *w, const void *p, size_t n) {
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = 1;
        return;
    }
    if (n) memcpy(w->p + w->len, p, n);
    w->len += n;
}

void t2u_put_zeros(t2u_writer *w, size_t n) {
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = 1;
        return;
    }
    memset(w->p + w->len, 0, n);
    w->len += n;
}

void t2u_put_u8(t2u_writer *w, uint8_t v) { t2u_put_bytes(w, &v, 1); }
void t2u_put_u16(t2u_writer *w, uint16_t v) {
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    t2u_put_bytes(w, b, 2);
}
void t2u_put_u32(t2u_writer *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    t2u_put_bytes(w, b, 4);
}
void t2u_put_u64(t2u_writer *w, uint64_t v) {
    uint8_t b[8];
    t2u_wbe64(b, v);
    t2u_put_bytes(w, b, 8);
}

void t2u_put_addr(t2u_writer *w, const t2u_addr *a) {
    t2u_put_u8(w, a->family);
    t2u_put_bytes(w, a->ip, a->family == 6 ? 16 : 4);
    t2u_put_u16(w, a->port);
}

void t2u_put_nat(t2u_writer *w, t2u_nat nat) {
    t2u_put_u8(w, nat.kind);
    t2u_put_u32(w, nat.kind == 3 ? (uint32_t)nat.delta : 0);
}

int t2u_uuid_valid(const uint8_t *p, size_t n) {
    if (n < 1 || n > T2U_MAX_UUID) return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7E) return 0;
    return 1;
}

int t2u_addr_equal(const t2u_addr *a, const t2u_addr *b) {
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

const char *t2u_addr_str(const t2u_addr *a, char *buf, size_t cap) {
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip);
    snprintf(buf, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, a->port);
    return buf;
}

int t2u_sig_is_channel(uint8_t type) {
    switch (type) {
    case T2U_KEEPALIVE: case T2U_KEEPALIVE_ACK: case T2U_QUERY: case T2U_QUERY_RESULT: case T2U_CONNECT:
    case T2U_CONNECT_RESULT: case T2U_INTRODUCE: case T2U_INTRODUCE_ACK: case T2U_PATH_REPORT: case T2U_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* The rest of the datagram as one AEAD ciphertext: >= tag, <= the bound. */
static void get_encrypted(t2u_reader *r, t2u_sig_msg *m, const char *field) {
    size_t n = t2u_reader_left(r);
    if (r->error) return;
    if (n < T2U_TAG_LEN || n > T2U_MAX_ENCRYPTED) {
        r->error = field;
        return;
    }
    m->enc = t2u_get_bytes(r, n, field);
    m->enc_len = n;
}

static void get_uuid(t2u_reader *r, t2u_sig_msg *m, const char *field) {
    uint8_t n = t2u_get_u8(r, field);
    const uint8_t *p = t2u_get_bytes(r, n, field);
    if (!p) return;
    if (!t2u_uuid_valid(p, n)) {
        r->error = field;
        return;
    }
    m->uuid = p;
    m->uuid_len = n;
}

static void get_nat(t2u_reader *r, t2u_nat *nat, int optional) {
    nat->kind = 0;
    nat->delta = 0;
    if (optional && t2u_reader_left(r) == 0) return;
    uint8_t kind = t2u_get_u8(r, "nat");
    uint32_t delta = t2u_get_u32(r, "nat delta");
    if (r->error) return;
    if (kind > 3) {
        r->error = "nat";
        return;
    }
    nat->kind = kind;
    nat->delta = (int32_t)delta;
}

/* Appended after the NAT field (punch order): u16 ms, absent 0, capped. */
static void get_punch_delay(t2u_reader *r, t2u_sig_msg *m) {
    m->punch_delay_ms = 0;
    if (r->error || t2u_reader_left(r) == 0) return;
    uint16_t ms = t2u_get_u16(r, "punch delay");
    m->punch_delay_ms = ms > T2U_MAX_PUNCH_DELAY_MS ? T2U_MAX_PUNCH_DELAY_MS : ms;
}

static void get_candidates(t2u_reader *r, t2u_sig_msg *m, const char *field) {
    uint8_t n = t2u_get_u8(r, field);
    if (r->error) return;
    if (n > T2U_MAX_CANDIDATES) {
        r->error = field;
        return;
    }
    for (uint8_t i = 0; i < n; i++)
        if (t2u_get_addr(r, &m->candidates[i], field) != 0) return;
    m->ncandidates = n;
}

static const uint8_t *get_long(t2u_reader *r, size_t *len, size_t max, const char *field) {
    uint16_t n = t2u_get_u16(r, field);
    if (r->error) return NULL;
    if (n > max) {
        r->error = field;
        return NULL;
    }
    *len = n;
    return t2u_get_bytes(r, n, field);
}

static void get_role(t2u_reader *r, t2u_sig_msg *m) {
    m->role = t2u_get_u8(r, "role");
    if (!r->error && m->role != T2U_ROLE_DEVICE && m->role != T2U_ROLE_CLIENT) r->error = "role";
}

int t2u_sig_parse(const uint8_t *p, size_t len, t2u_sig_msg *m, const char **why) {
    t2u_reader rd, *r = &rd;
    memset(m, 0, sizeof *m);
    t2u_reader_init(r, p, len);
    m->type = t2u_get_u8(r, "type");
    if (r->error) goto fail;
    if (m->type < T2U_HELLO || m->type > T2U_SEALED) {
        r->error = "unknown message type";
        goto fail;
    }
    if (m->type == T2U_SEALED) {
        m->channel = t2u_get_u64(r, "channel");
        m->counter = t2u_get_u64(r, "counter");
        get_encrypted(r, m, "ciphertext");
        goto done;
    }
    m->request_id = t2u_get_u32(r, "request id");
    switch (m->type) {
    case T2U_HELLO:
        get_role(r, m);
        break;
    case T2U_CHALLENGE:
        m->cookie = t2u_get_bytes(r, T2U_COOKIE_LEN, "cookie");
        m->key = t2u_get_bytes(r, T2U_KEY_LEN, "server key");
        break;
    case T2U_REGISTER:
        get_role(r, m);
        m->cookie = t2u_get_bytes(r, T2U_COOKIE_LEN, "cookie");
        m->key = t2u_get_bytes(r, T2U_KEY_LEN, "ephemeral");
        m->enc_static = t2u_get_bytes(r, T2U_KEY_LEN + T2U_TAG_LEN, "static");
        get_encrypted(r, m, "payload");
        break;
    case T2U_REGISTERED:
        m->key = t2u_get_bytes(r, T2U_KEY_LEN, "ephemeral");
        get_encrypted(r, m, "payload");
        break;
    case T2U_ERROR:
        m->code = t2u_get_u8(r, "code");
        break;
    case T2U_KEEPALIVE:
        m->token = t2u_get_u64(r, "token");
        get_nat(r, &m->nat, 1);
        break;
    case T2U_KEEPALIVE_ACK:
    case T2U_PROBE_RESULT:
        t2u_get_addr(r, &m->addr, "observed");
        break;
    case T2U_QUERY:
        m->token = t2u_get_u64(r, "token");
        get_uuid(r, m, "uuid");
        break;
    case T2U_QUERY_RESULT:
        m->online = t2u_get_bool(r, "online");
        m->has_addr = t2u_get_bool(r, "address flag");
        if (m->has_addr) t2u_get_addr(r, &m->addr, "public address");
        m->pubkey = get_long(r, &m->pubkey_len, T2U_KEY_LEN, "public key");
        m->extra = get_long(r, &m->extra_len, T2U_MAX_EXTRA, "extra");
        break;
    case T2U_CONNECT:
        m->token = t2u_get_u64(r, "token");
        m->cid = t2u_get_u64(r, "client cid");
        get_uuid(r, m, "uuid");
        get_candidates(r, m, "candidates");
        get_nat(r, &m->nat, 1);
        if (t2u_reader_left(r) > 0) {
            m->resume_cid = t2u_get_u64(r, "resume cid");
            if (!r->error && m->resume_cid == 0) r->error = "resume cid";
            if (t2u_reader_left(r) > 0) m->has_resume_addr = t2u_get_addr(r, &m->resume_addr, "resume address") == 0;
        }
        break;
    case T2U_CONNECT_RESULT:
        m->online = t2u_get_bool(r, "online");
        m->session_id = t2u_get_u64(r, "session id");
        m->relay_allowed = t2u_get_bool(r, "relay allowed");
        m->pubkey = get_long(r, &m->pubkey_len, T2U_KEY_LEN, "public key");
        get_candidates(r, m, "candidates");
        get_nat(r, &m->nat, 1);
        get_punch_delay(r, m);
        break;
    case T2U_INTRODUCE:
        m->session_id = t2u_get_u64(r, "session id");
        m->cid = t2u_get_u64(r, "client cid");
        m->relay_allowed = t2u_get_bool(r, "relay allowed");
        t2u_get_addr(r, &m->addr, "client address");
        get_candidates(r, m, "candidates");
        get_nat(r, &m->nat, 1);
        get_punch_delay(r, m);
        break;
    case T2U_INTRODUCE_ACK:
        m->token = t2u_get_u64(r, "token");
        m->session_id = t2u_get_u64(r, "session id");
        break;
    case T2U_PROBE:
        break;
    case T2U_SEARCH:
        /* A zero length byte asks every device; a missing one is truncated. */
        if (t2u_reader_left(r) > 0 && r->p[r->pos] == 0) break;
        get_uuid(r, m, "uuid");
        break;
    case T2U_SEARCH_REPLY:
        get_uuid(r, m, "uuid");
        t2u_get_addr(r, &m->addr, "address");
        break;
    case T2U_PATH_REPORT:
        m->token = t2u_get_u64(r, "token");
        m->session_id = t2u_get_u64(r, "session id");
        m->path = t2u_get_u8(r, "path");
        if (!r->error && (m->path < 1 || m->path > 4)) r->error = "path";
        break;
    case T2U_RELAY_UNKNOWN:
        m->cid = t2u_get_u64(r, "connection id");
        break;
    default:
        break;
    }
done:
    if (!r->error) return 0;
fail:
    if (why) *why = r->error;
    return -1;
}

static size_t finish(t2u_writer *w, size_t minimum) {
    if (w->len < minimum) t2u_put_zeros(w, minimum - w->len);
    return w->overflow ? 0 : w->len;
}

/* Every message starts type(1) requestID(4). */
static void begin(t2u_writer *w, uint8_t *out, size_t cap, uint8_t type, uint32_t id) {
    t2u_writer_init(w, out, cap);
    t2u_put_u8(w, type);
    t2u_put_u32(w, id);
}

/* HELLO and PROBE: type requestID [role], zero padding to 64 bytes (no amplification). */
static size_t write_padded(uint8_t *out, size_t cap, uint8_t type, uint32_t id, const uint8_t *role) {
    t2u_writer w;
    begin(&w, out, cap, type, id);
    if (role) t2u_put_u8(&w, *role);
    return finish(&w, T2U_MIN_PADDED);
}

size_t t2u_write_hello(uint8_t *out, size_t cap, uint32_t id, uint8_t role) { return write_padded(out, cap, T2U_HELLO, id, &role); }
size_t t2u_write_probe(uint8_t *out, size_t cap, uint32_t id) { return write_padded(out, cap, T2U_PROBE, id, NULL); }

size_t t2u_write_keepalive(uint8_t *out, size_t cap, uint32_t id, uint64_t token, t2u_nat nat) {
    t2u_writer w;
    begin(&w, out, cap, T2U_KEEPALIVE, id);
    t2u_put_u64(&w, token);
    t2u_put_nat(&w, nat);
    return finish(&w, 0);
}

size_t t2u_write_introduce_ack(uint8_t *out, size_t cap, uint32_t id, uint64_t token, uint64_t session) {
    t2u_writer w;
    begin(&w, out, cap, T2U_INTRODUCE_ACK, id);
    t2u_put_u64(&w, token);
    t2u_put_u64(&w, session);
    return finish(&w, 0);
}

size_t t2u_write_search_reply(uint8_t *out, size_t cap, uint32_t id, const char *uuid, const t2u_addr *a) {
    t2u_writer w;
    size_t n = strlen(uuid);
    begin(&w, out, cap, T2U_SEARCH_REPLY, id);
    t2u_put_u8(&w, (uint8_t)n);
    t2u_put_bytes(&w, uuid, n);
    t2u_put_addr(&w, a);
    return finish(&w, 0);
}

size_t t2u_write_registration(uint8_t *out, size_t cap, const char *uuid, const uint8_t *extra, size_t extra_len,
                              const t2u_addr *cands, size_t ncands, t2u_nat nat, const uint8_t *cert, size_t cert_len,
                              const uint8_t *rotation) {
    t2u_writer w;
    size_t n = strlen(uuid);
    if (ncands > T2U_MAX_CANDIDATES) ncands = T2U_MAX_CANDIDATES;
    if (extra_len > T2U_MAX_EXTRA || cert_len > T2U_MAX_CERT || n > T2U_MAX_UUID) return 0;
    t2u_writer_init(&w, out, cap);
    t2u_put_u8(&w, (uint8_t)n);
    t2u_put_bytes(&w, uuid, n);
    t2u_put_u16(&w, (uint16_t)extra_len);
    t2u_put_bytes(&w, extra, extra_len);
    t2u_put_u8(&w, (uint8_t)ncands);
    for (size_t i = 0; i < ncands; i++) t2u_put_addr(&w, &cands[i]);
    t2u_put_nat(&w, nat);
    t2u_put_u16(&w, (uint16_t)cert_len);
    t2u_put_bytes(&w, cert, cert_len);
    if (rotation) {
        t2u_put_u8(&w, 1);
        t2u_put_bytes(&w, rotation, 64);
    } else {
        t2u_put_u8(&w, 0);
    }
    return finish(&w, 0);
}

int t2u_parse_registered(const uint8_t *p, size_t len, uint64_t *token, uint16_t *keepalive, t2u_addr *observed) {
    t2u_reader r;
    t2u_reader_init(&r, p, len);
    *token = t2u_get_u64(&r, "token");
    *keepalive = t2u_get_u16(&r, "keepalive");
    t2u_get_addr(&r, observed, "observed");
    return (r.error || t2u_reader_left(&r) != 0) ? -1 : 0;
}
