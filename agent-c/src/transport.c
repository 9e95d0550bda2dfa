/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "transport.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "frames.h"
#include "log.h"

#define HEADER_LEN 18
#define MAX_ACK_DELAY_MS 5
#define INITIAL_RTT_MS 100
#define AMPLIFICATION 3
#define CHALLENGE_PACKET (HEADER_LEN + 9 + 1 + 16) /* PATH_CHALLENGE and PING */
#define MAX_CHALLENGES 4
/* The shell's clock ticks in milliseconds; the controller counts microseconds. */
#define US(ms) ((ms) * 1000)

void t2u_phase_keys_derive(t2u_phase_keys *k, const uint8_t secret[32]) {
    memcpy(k->secret, secret, 32);
    t2u_hkdf_expand(k->key, 32, secret, "t2u key", 7);
    t2u_hkdf_expand(k->iv, 12, secret, "t2u iv", 6);
}

void t2u_phase_keys_next(t2u_phase_keys *out, const t2u_phase_keys *k, const uint8_t *shared) {
    uint8_t next[32], prk[32];
    if (shared) {
        t2u_hkdf_extract(prk, k->secret, 32, shared, 32);
        t2u_hkdf_expand(next, 32, prk, "t2u key update dh", 17);
    } else {
        t2u_hkdf_expand(next, 32, k->secret, "t2u key update", 14);
    }
    t2u_phase_keys_derive(out, next);
    t2u_wipe(next, sizeof next);
    t2u_wipe(prk, sizeof prk);
}

static void nonce(uint8_t out[12], const t2u_phase_keys *k, uint64_t pn) {
    memcpy(out, k->iv, 12);
    for (int i = 0; i < 8; i++) out[4 + i] ^= (uint8_t)(pn >> (56 - 8 * i));
}

int t2u_conn_init(t2u_conn *c, const t2u_hs_session *s, uint64_t local_cid, const t2u_addr *peer, uint64_t now) {
    memset(c, 0, sizeof *c);
    c->live = 1;
    c->local_cid = local_cid;
    c->peer_cid = s->peer_cid;
    c->peer = *peer;
    c->validated = *peer; /* the handshake came from there */
    t2u_phase_keys_derive(&c->send_keys, s->send_secret);
    t2u_phase_keys_derive(&c->recv_keys, s->recv_secret);
    t2u_phase_keys_next(&c->next_recv, &c->recv_keys, NULL);
    t2u_replay_init(&c->replay);
    /* The peer's parameters: version, maxData, maxStreamData, maxStreams, idle (transport.md §3). */
    uint64_t v[5] = {0, 0, 0, 0, 60000};
    size_t pos = 0;
    for (int i = 0; i < 5; i++)
        if (t2u_varint_get(s->peer_params, s->peer_params_len, &pos, &v[i]) != 0) {
            if (i < 4) return -1;
            break;
        }
    if (v[0] < 1) return -1;
    c->peer_max_data = v[1];
    c->peer_stream_window = v[2];
    c->peer_max_streams = v[3];
    c->idle_ms = v[4] && v[4] < 60000 ? v[4] : 60000;
    c->max_data_granted = T2U_CONN_WINDOW;
    c->max_streams_granted = T2U_MAX_STREAMS;
    /* Pacer bursts bridge two clock ticks: a 1 ms timer wakes late, not early. */
    t2u_cc_init(&c->cc, T2U_CONGESTION_CONTROL, T2U_PACKET_SIZE, US(INITIAL_RTT_MS), US(2));
    c->srtt = INITIAL_RTT_MS;
    c->rttvar = INITIAL_RTT_MS / 2;
    c->last_receive_ms = c->now_ms = now;
    c->ack_due_ms = UINT64_MAX;
    return 0;
}

void t2u_conn_free(t2u_conn *c) {
    for (int i = 0; i < T2U_MAX_STREAMS; i++) {
        t2u_stream *st = &c->streams[i];
        if (!st->live) continue;
        if (st->fd >= 0) close(st->fd);
        free(st->recv.buf);
        free(st->send.buf);
        st->live = 0;
    }
    t2u_wipe(&c->send_keys, sizeof c->send_keys);
    t2u_wipe(&c->recv_keys, sizeof c->recv_keys);
    t2u_wipe(&c->prev_recv, sizeof c->prev_recv);
    t2u_wipe(&c->next_recv, sizeof c->next_recv);
    t2u_wipe(c->ku_shared, sizeof c->ku_shared);
    c->live = 0;
}

static t2u_stream *find_stream(t2u_conn *c, uint64_t id) {
    for (int i = 0; i < T2U_MAX_STREAMS; i++)
        if (c->streams[i].live && c->streams[i].id == id) return &c->streams[i];
    return NULL;
}

/* A STREAM or RESET for a peer-opened id: the stream, a new one, or NULL (finished before:
 * a late retransmission). -1 in *violation for a stream the peer may not open. */
static t2u_stream *peer_stream(t2u_conn *c, uint64_t id, int *violation) {
    t2u_stream *st = find_stream(c, id);
    if (st) return st;
    if (id & 1) return NULL; /* ours: we open none */
    uint64_t index = id >> 1;
    for (size_t i = 0; i < c->finished.n; i++)
        if (index >= c->finished.lo[i] && index < c->finished.hi[i]) return NULL; /* a late retransmission */
    if (index >= c->max_streams_granted) {
        *violation = 1;
        return NULL;
    }
    for (int i = 0; i < T2U_MAX_STREAMS; i++) {
        if (c->streams[i].live) continue;
        st = &c->streams[i];
        memset(st, 0, sizeof *st);
        if (t2u_recv_init(&st->recv, T2U_STREAM_WINDOW) != 0 || t2u_send_init(&st->send, T2U_STREAM_WINDOW) != 0) {
            free(st->recv.buf);
            free(st->send.buf);
            return NULL;
        }
        st->live = 1;
        st->id = id;
        st->fd = -1;
        st->state = T2U_ST_HEADER;
        st->send.peer_max = c->peer_stream_window;
        c->streams_opened++;
        return st;
    }
    *violation = 1; /* more concurrent streams than slots: the grant (MAX_STREAMS) prevents it */
    return NULL;
}

static void on_rtt_sample(t2u_conn *c, uint64_t sample, uint64_t ack_delay_ms) {
    c->latest_rtt = sample;
    if (!c->has_rtt) {
        c->has_rtt = 1;
        c->min_rtt = sample;
        c->srtt = sample;
        c->rttvar = sample / 2;
        return;
    }
    if (sample < c->min_rtt) c->min_rtt = sample;
    uint64_t adjusted = sample >= c->min_rtt + ack_delay_ms ? sample - ack_delay_ms : sample;
    uint64_t diff = c->srtt > adjusted ? c->srtt - adjusted : adjusted - c->srtt;
    c->rttvar = (3 * c->rttvar + diff) / 4;
    c->srtt = (7 * c->srtt + adjusted) / 8;
}

static uint64_t pto_ms(const t2u_conn *c) {
    uint64_t v = c->srtt + (4 * c->rttvar > 1 ? 4 * c->rttvar : 1) + MAX_ACK_DELAY_MS;
    return v << (c->pto_count < 6 ? c->pto_count : 6);
}

/* congestion: the loss tells the controller (not a PTO's presumption before the second). */
static void on_lost(t2u_conn *c, t2u_sent *p, uint64_t now, int congestion) {
    p->lost = 1;
    if (p->in_flight) {
        c->bytes_in_flight -= p->bytes;
        if (congestion) t2u_cc_on_lost(&c->cc, US(now), US(p->sent_ms), p->bytes);
    }
    p->in_flight = 0;
    c->ctl_pending |= p->ctl & (T2U_CTL_MAX_DATA | T2U_CTL_MAX_STREAMS);
    if ((p->ctl & T2U_CTL_KEY_UPDATE) && c->ku_answered) c->ku_response_pending = 1; /* still current */
    if (p->has_stream) {
        t2u_stream *st = &c->streams[p->slot];
        if (st->live && st->id == p->stream_id) t2u_send_on_lost(&st->send, p->off, p->len, p->fin);
    }
}

static void detect_losses(t2u_conn *c, uint64_t now) {
    uint64_t rtt = c->latest_rtt > c->srtt ? c->latest_rtt : c->srtt;
    uint64_t delay = rtt * 9 / 8 + 1;
    for (uint64_t pn = c->oldest_unacked_pn; c->has_acked && pn < c->largest_acked; pn++) {
        t2u_sent *p = &c->sent[pn % T2U_SENT_RING];
        if (p->pn != pn || p->acked || p->lost) continue;
        if (pn + 3 <= c->largest_acked || p->sent_ms + delay <= now) {
            on_lost(c, p, now, p->ack_eliciting);
        }
    }
    while (c->oldest_unacked_pn < c->next_pn) {
        t2u_sent *p = &c->sent[c->oldest_unacked_pn % T2U_SENT_RING];
        if (p->pn == c->oldest_unacked_pn && !p->acked && !p->lost) break;
        c->oldest_unacked_pn++;
    }
}

static void on_ack(t2u_conn *c, const t2u_frame *f, uint64_t now) {
    if (f->a >= c->next_pn) return; /* acknowledges a packet never sent: ignore the frame */
    int newly_largest = !c->has_acked || f->a > c->largest_acked;
    uint64_t rtt_us = 0;
    t2u_cc_ack ack;
    t2u_cc_ack_begin(&ack, US(now), c->bytes_in_flight);
    for (size_t r = 0; r < f->nranges; r++) {
        uint64_t lo = f->ack_lo[r], hi = f->ack_hi[r];
        if (hi + T2U_SENT_RING < c->next_pn) continue;
        if (lo + T2U_SENT_RING < c->next_pn) lo = c->next_pn - T2U_SENT_RING;
        for (uint64_t pn = lo; pn <= hi; pn++) {
            t2u_sent *p = &c->sent[pn % T2U_SENT_RING];
            if (p->pn != pn || p->acked) continue;
            if (pn == f->a && newly_largest && p->ack_eliciting) {
                on_rtt_sample(c, now - p->sent_ms, f->b / 1000 < MAX_ACK_DELAY_MS ? f->b / 1000 : MAX_ACK_DELAY_MS);
                rtt_us = US(c->latest_rtt ? c->latest_rtt : 1); /* below one clock tick counts as one */
            }
            p->acked = 1;
            if (p->in_flight) {
                c->bytes_in_flight -= p->bytes;
                t2u_cc_ack_packet(&c->cc, &ack, &p->snap, US(p->sent_ms), p->bytes);
            }
            p->in_flight = 0;
            if (p->has_stream) { /* also when acked after it was declared lost */
                t2u_stream *st = &c->streams[p->slot];
                if (st->live && st->id == p->stream_id) t2u_send_on_ack(&st->send, p->off, p->len, p->fin);
            }
        }
    }
    if (newly_largest) {
        c->largest_acked = f->a;
        c->has_acked = 1;
    }
    c->pto_count = 0;
    detect_losses(c, now);
    t2u_cc_ack_end(&c->cc, &ack, rtt_us, c->bytes_in_flight);
}

/* Frames of one authenticated packet; -1: a violation (the connection closes), -2: not
 * processable now (the packet is not acknowledged: it comes again). */
static int handle_frames(t2u_conn *c, const uint8_t *p, size_t len, const t2u_addr *from, uint64_t now, int *eliciting,
                         int *non_probing) {
    size_t pos = 0;
    t2u_frame f;
    while (pos < len) {
        if (t2u_frame_decode(p, len, &pos, &f) != 0) {
            t2u_log(T2U_LOG_DEBUG, "malformed frame (type 0x%02x)", p[pos < len ? pos : 0]);
            return -1;
        }
        if (t2u_frame_ack_eliciting(f.type)) *eliciting = 1;
        if (f.type != T2U_F_PADDING && f.type != T2U_F_PATH_CHALLENGE && f.type != T2U_F_PATH_RESPONSE) *non_probing = 1;
        switch (f.type) {
        case T2U_F_ACK:
            on_ack(c, &f, now);
            break;
        case T2U_F_STREAM:
        case T2U_F_STREAM_FIN: {
            int violation = 0;
            t2u_stream *st = peer_stream(c, f.a, &violation);
            if (violation) return -1;
            if (!st) break;
            uint64_t highest = st->recv.have.n ? st->recv.have.hi[st->recv.have.n - 1] : st->recv.base, newb = 0;
            if (st->recv.fin && st->recv.final_size > highest) highest = st->recv.final_size;
            int rc = t2u_recv_data(&st->recv, f.b, f.data, f.len, f.type == T2U_F_STREAM_FIN, &highest, &newb);
            if (rc == -1) {
                t2u_log(T2U_LOG_DEBUG, "stream %llu: flow control or final size violation", (unsigned long long)f.a);
                return -1;
            }
            if (rc == -2) return -2;
            c->received_bytes += newb;
            if (c->received_bytes > c->max_data_granted) return -1;
            break;
        }
        case T2U_F_RESET_STREAM: {
            int violation = 0;
            t2u_stream *st = peer_stream(c, f.a, &violation);
            if (violation) return -1;
            t2u_log(T2U_LOG_DEBUG, "peer reset stream %llu (code %llu)", (unsigned long long)f.a, (unsigned long long)f.b);
            if (st) {
                /* The final size is what the peer counted against our connection window: what of
                 * it we never consumed (past a hole, or not sent yet) comes back as credit now, or
                 * every reset would shrink the peer's window for good until the link stalls. */
                uint64_t highest = st->recv.have.n ? st->recv.have.hi[st->recv.have.n - 1] : st->recv.base;
                if (st->recv.fin && st->recv.final_size > highest) highest = st->recv.final_size;
                if (f.c < highest || (st->recv.fin && f.c != st->recv.final_size) || f.c > st->recv.max_granted) return -1;
                c->received_bytes += f.c - highest;
                if (c->received_bytes > c->max_data_granted) return -1;
                st->recv.fin = 1;
                st->recv.final_size = f.c;
                t2u_conn_consumed(c, st, (size_t)(f.c - st->recv.base)); /* drop the rest */
                st->state = T2U_ST_CLOSED;
                st->send.fin = st->send.fin_acked = 1;
                st->send.base = st->send.end;
            }
            break;
        }
        case T2U_F_MAX_DATA:
            if (f.a > c->peer_max_data) c->peer_max_data = f.a;
            break;
        case T2U_F_MAX_STREAM_DATA: {
            t2u_stream *st = find_stream(c, f.a);
            if (st && f.b > st->send.peer_max) st->send.peer_max = f.b;
            break;
        }
        case T2U_F_PATH_CHALLENGE:
            if (c->npath < 4) {
                c->path_data[c->npath] = f.a;
                c->path_from[c->npath] = *from;
                c->npath++;
            }
            break;
        case T2U_F_PATH_RESPONSE:
            if (c->pv_active && f.a == c->pv_challenge && t2u_addr_equal(from, &c->pv_addr)) {
                c->pv_active = 0;
                c->validated = *from;
                if (c->amp_active && t2u_addr_equal(&c->amp_addr, from)) c->amp_active = 0;
            }
            break;
        case T2U_F_CLOSE:
            t2u_log(T2U_LOG_DEBUG, "peer closed the connection (code %llu: %.*s)", (unsigned long long)f.a, (int)f.len,
                    (const char *)f.data);
            c->closing = 1;
            return 0;
        case T2U_F_KEY_UPDATE:
            /* A fresh DH for the next phase; only the client starts one, the device follows. */
            if (c->ku_answered && f.a == c->ku_answered_seq) {
                c->ku_response_pending = 1; /* the response was lost or is late: the same one */
            } else if (!c->ku_answered && f.a > c->ku_answered_seq) {
                uint8_t priv[32];
                t2u_x25519_keypair(priv, c->ku_public);
                int bad = t2u_x25519(c->ku_shared, priv, f.data) != 0;
                t2u_wipe(priv, sizeof priv);
                if (bad) return -1; /* low-order key: PROTOCOL_VIOLATION */
                t2u_phase_keys_next(&c->next_recv, &c->recv_keys, c->ku_shared);
                c->ku_answered_seq = f.a;
                c->ku_answered = 1;
                c->ku_response_pending = 1;
            }
            break; /* a greater sequence while answered cannot happen (ignored) */
        case T2U_F_KEY_UPDATE_RESPONSE:
            return -1; /* a response sent to the responder */
        default:
            break; /* PADDING PING MAX_STREAMS DATA_BLOCKED STREAM_DATA_BLOCKED */
        }
    }
    return 0;
}

/* The peer's newest non-probing packet came from elsewhere (NAT rebinding, relay <-> direct):
 * send there at once, within the amplification limit, and prove the address with a challenge.
 * Packets that only probe (PATH_CHALLENGE, PATH_RESPONSE, PADDING) never move us. */
static void migrate(t2u_conn *c, const t2u_addr *from, size_t len, uint64_t now) {
    int same_host = from->family == c->peer.family && memcmp(from->ip, c->peer.ip, from->family == 6 ? 16 : 4) == 0;
    if (!same_host) {
        /* Another host is another path: its window and RTT start afresh (a NAT rebinding keeps them). */
        t2u_cc_reset_for_new_path(&c->cc);
        c->has_rtt = 0;
        c->srtt = INITIAL_RTT_MS;
        c->rttvar = INITIAL_RTT_MS / 2;
        c->pto_count = 0;
    }
    c->peer = *from;
    if (t2u_addr_equal(from, &c->validated)) {
        c->amp_active = 0;
        c->pv_active = 0;
        return;
    }
    c->amp_active = 1;
    c->amp_addr = *from;
    c->amp_received = len;
    c->amp_sent = 0;
    if (c->pv_active && t2u_addr_equal(&c->pv_addr, from)) return;
    c->pv_active = 1;
    c->pv_addr = *from;
    c->pv_challenge = t2u_random_u64();
    uint64_t timeout = 3 * pto_ms(c);
    c->pv_deadline = now + (timeout > 1000 ? timeout : 1000);
    c->pv_next_send = now;
    c->pv_sends = 0;
}

/* Whether `bytes` more to `to` would exceed an unvalidated address's 3x budget. */
static int amplification_blocked(const t2u_conn *c, const t2u_addr *to, uint64_t bytes) {
    return c->amp_active && t2u_addr_equal(&c->amp_addr, to) && c->amp_sent + bytes > AMPLIFICATION * c->amp_received;
}

static int challenge_due(const t2u_conn *c, uint64_t now) {
    return c->pv_active && c->pv_sends < MAX_CHALLENGES && c->pv_next_send <= now &&
           !amplification_blocked(c, &c->pv_addr, CHALLENGE_PACKET);
}

void t2u_conn_receive(t2u_conn *c, uint8_t *d, size_t len, const t2u_addr *from, uint64_t now) {
    uint8_t n[12], plain[2048];
    if (now > c->now_ms) c->now_ms = now;
    if (len < HEADER_LEN + 16 || len - HEADER_LEN - 16 > sizeof plain || d[1] != 0) return;
    uint64_t pn = t2u_be64(d + 10);
    if (!t2u_replay_fresh(&c->replay, pn)) return;
    int phase = d[0] & 1, advanced = 0;
    const t2u_phase_keys *keys = &c->recv_keys;
    if (phase != c->key_phase) {
        /* A reordered packet of the previous phase, or the client's flip to the next one. */
        if (c->has_prev && (!c->has_lowest || pn < c->lowest_pn_in_phase)) keys = &c->prev_recv;
        else if (c->has_lowest && pn < c->lowest_pn_in_phase) return;
        else {
            keys = &c->next_recv;
            advanced = 1;
        }
    }
    nonce(n, keys, pn);
    if (t2u_aead_open(plain, keys->key, n, d, HEADER_LEN, d + HEADER_LEN, len - HEADER_LEN) != 0) {
        return;
    }
    if (advanced) {
        /* The client flipped: both directions move to the next phase (with the mixed secret). */
        c->prev_recv = c->recv_keys;
        c->has_prev = 1;
        c->recv_keys = c->next_recv;
        t2u_phase_keys_next(&c->next_recv, &c->recv_keys, NULL);
        t2u_phase_keys next_send;
        t2u_phase_keys_next(&next_send, &c->send_keys, c->ku_answered ? c->ku_shared : NULL);
        c->send_keys = next_send;
        t2u_wipe(&next_send, sizeof next_send);
        c->key_phase ^= 1;
        c->has_lowest = 1;
        c->lowest_pn_in_phase = pn;
        c->ku_answered = 0;
        c->ku_response_pending = 0;
        t2u_wipe(c->ku_shared, sizeof c->ku_shared);
    } else if (keys == &c->recv_keys && (!c->has_lowest || pn < c->lowest_pn_in_phase)) {
        c->has_lowest = 1;
        c->lowest_pn_in_phase = pn;
    }
    int eliciting = 0, non_probing = 0;
    int rc = handle_frames(c, plain, len - HEADER_LEN - 16, from, now, &eliciting, &non_probing);
    if (rc == -2) return; /* not marked: it comes again */
    t2u_replay_mark(&c->replay, pn);
    c->last_receive_ms = now;
    c->bytes_received += len;
    if (c->amp_active && t2u_addr_equal(&c->amp_addr, from)) c->amp_received += len;
    if (rc == -1) {
        c->closing = 1; /* a protocol violation: the peer learns by the idle timeout */
        return;
    }
    if (t2u_ranges_add(&c->received, pn, pn + 1) != 0) {
        t2u_ranges_trim(&c->received, c->received.lo[1]); /* forget the oldest range */
        (void)t2u_ranges_add(&c->received, pn, pn + 1);
    }
    if (pn >= c->largest_received) {
        c->largest_received = pn;
        c->largest_received_ms = now;
    }
    if (non_probing && (!c->has_non_probing || pn > c->largest_non_probing)) {
        c->has_non_probing = 1;
        c->largest_non_probing = pn;
        if (!t2u_addr_equal(from, &c->peer)) migrate(c, from, len, now);
    }
    if (eliciting) {
        c->ack_pending = 1;
        if (++c->ack_eliciting_unacked >= 2) c->ack_due_ms = now;
        else if (c->ack_due_ms == UINT64_MAX) c->ack_due_ms = now + MAX_ACK_DELAY_MS;
    }
}

static size_t write_ack(t2u_conn *c, uint8_t *p, size_t room, uint64_t now) {
    if (c->received.n == 0) return 0;
    uint8_t tmp[256];
    size_t n = 0;
    size_t last = c->received.n - 1;
    uint64_t largest = c->received.hi[last] - 1;
    uint64_t delay_us = (now - c->largest_received_ms) * 1000;
    size_t count = c->received.n > 16 ? 16 : c->received.n;
    tmp[n++] = T2U_F_ACK;
    n += t2u_varint_put(tmp + n, largest);
    n += t2u_varint_put(tmp + n, delay_us);
    n += t2u_varint_put(tmp + n, count - 1);
    n += t2u_varint_put(tmp + n, largest - c->received.lo[last]);
    for (size_t k = 1; k < count; k++) {
        size_t i = last - k;
        uint64_t gap = c->received.lo[i + 1] - c->received.hi[i] - 1; /* missing count - 1 */
        n += t2u_varint_put(tmp + n, gap);
        n += t2u_varint_put(tmp + n, c->received.hi[i] - 1 - c->received.lo[i]);
    }
    if (n > room) return 0;
    memcpy(p, tmp, n);
    return n;
}

static uint64_t conn_credit(const t2u_conn *c) {
    return c->peer_max_data > c->sent_new_bytes ? c->peer_max_data - c->sent_new_bytes : 0;
}

static int stream_sendable(const t2u_stream *st, uint64_t credit) {
    return st->live && (st->reset_pending || st->max_stream_data_pending || t2u_send_pending(&st->send, credit));
}

static int stream_data_waiting(const t2u_conn *c) {
    for (int i = 0; i < T2U_MAX_STREAMS; i++)
        if (stream_sendable(&c->streams[i], conn_credit(c))) return 1;
    return 0;
}

static int has_stream_data(t2u_conn *c, int *slot) {
    static int rr;
    uint64_t credit = conn_credit(c);
    for (int k = 0; k < T2U_MAX_STREAMS; k++) {
        int i = (rr + k) % T2U_MAX_STREAMS;
        t2u_stream *st = &c->streams[i];
        if (stream_sendable(st, credit)) {
            *slot = i;
            rr = i + 1;
            return 1;
        }
    }
    return 0;
}

size_t t2u_conn_poll_transmit(t2u_conn *c, uint64_t now, uint8_t *out, size_t cap, t2u_addr *to) {
    if (now > c->now_ms) c->now_ms = now;
    if (cap < T2U_PACKET_SIZE || c->closing) return 0;
    uint8_t *body = out + HEADER_LEN;
    size_t room = T2U_PACKET_SIZE - HEADER_LEN - 16, n = 0;
    t2u_sent rec;
    memset(&rec, 0, sizeof rec);
    *to = c->peer;
    /* PATH_RESPONSE goes where its challenge came from, in a packet of its own. */
    if (c->npath) {
        *to = c->path_from[0];
        body[n++] = T2U_F_PATH_RESPONSE;
        for (int i = 0; i < 8; i++) body[n++] = (uint8_t)(c->path_data[0] >> (56 - 8 * i));
        memmove(&c->path_data[0], &c->path_data[1], (size_t)(c->npath - 1) * sizeof c->path_data[0]);
        memmove(&c->path_from[0], &c->path_from[1], (size_t)(c->npath - 1) * sizeof c->path_from[0]);
        c->npath--;
        rec.ack_eliciting = 1;
    } else if (challenge_due(c, now)) {
        *to = c->pv_addr;
        body[n++] = T2U_F_PATH_CHALLENGE;
        for (int i = 0; i < 8; i++) body[n++] = (uint8_t)(c->pv_challenge >> (56 - 8 * i));
        body[n++] = T2U_F_PING;
        rec.ack_eliciting = 1;
        uint64_t retry = pto_ms(c);
        c->pv_next_send = now + (retry > 50 ? retry : 50);
        c->pv_sends++;
    } else if (amplification_blocked(c, &c->peer, T2U_PACKET_SIZE)) {
        return 0; /* only path validation may go to the unvalidated address now */
    } else {
        int want_ack = c->ack_pending && c->ack_due_ms <= now;
        int slot = -1;
        int cwnd_open = c->bytes_in_flight + T2U_PACKET_SIZE <= t2u_cc_window(&c->cc);
        int data = cwnd_open && has_stream_data(c, &slot);
        if (data && t2u_cc_pacing_deadline(&c->cc, US(now), T2U_PACKET_SIZE, US(c->srtt)) > US(now)) data = 0;
        else if (cwnd_open && !data) t2u_cc_on_app_limited(&c->cc, c->bytes_in_flight);
        int ctl = cwnd_open && (c->ctl_pending || c->ku_response_pending);
        int probe = c->pto_count > 0 && c->last_ack_eliciting_sent_ms + pto_ms(c) / 2 <= now && !data && !ctl;
        if (!want_ack && !data && !ctl && !probe) return 0;
        if (c->ack_pending && (want_ack || data || ctl)) {
            size_t a = write_ack(c, body + n, room - n, now);
            n += a;
            c->ack_pending = 0;
            c->ack_eliciting_unacked = 0;
            c->ack_due_ms = UINT64_MAX;
        }
        if (c->ctl_pending & T2U_CTL_MAX_DATA) {
            body[n++] = T2U_F_MAX_DATA;
            n += t2u_varint_put(body + n, c->max_data_granted);
            rec.ctl |= T2U_CTL_MAX_DATA;
        }
        if (c->ctl_pending & T2U_CTL_MAX_STREAMS) {
            body[n++] = T2U_F_MAX_STREAMS;
            n += t2u_varint_put(body + n, c->max_streams_granted);
            rec.ctl |= T2U_CTL_MAX_STREAMS;
        }
        if (c->ku_response_pending && c->ku_answered) {
            body[n++] = T2U_F_KEY_UPDATE_RESPONSE;
            n += t2u_varint_put(body + n, c->ku_answered_seq);
            memcpy(body + n, c->ku_public, 32);
            n += 32;
            rec.ctl |= T2U_CTL_KEY_UPDATE;
            c->ku_response_pending = 0;
        }
        c->ctl_pending = 0;
        if (rec.ctl) rec.ack_eliciting = 1;
        if (data) {
            t2u_stream *st = &c->streams[slot];
            if (st->reset_pending) {
                body[n++] = T2U_F_RESET_STREAM;
                n += t2u_varint_put(body + n, st->id);
                n += t2u_varint_put(body + n, st->reset_code);
                n += t2u_varint_put(body + n, st->send.end);
                st->reset_pending = 0;
                rec.ack_eliciting = 1;
            } else {
                if (st->max_stream_data_pending) {
                    body[n++] = T2U_F_MAX_STREAM_DATA;
                    n += t2u_varint_put(body + n, st->id);
                    n += t2u_varint_put(body + n, st->recv.max_granted);
                    st->max_stream_data_pending = 0;
                    rec.ack_eliciting = 1;
                }
                /* STREAM: type id offset length (varints), then the bytes. */
                size_t overhead = 1 + 8 + 8 + 4;
                if (room > n + overhead) {
                    uint64_t off, newb;
                    size_t len;
                    int fin;
                    size_t at = n + 1 + t2u_varint_len(st->id) + 8 + 4;
                    if (t2u_send_next(&st->send, room - at, conn_credit(c), &off, &len, &fin, body + at, &newb)) {
                        size_t h = n;
                        body[h++] = fin ? T2U_F_STREAM_FIN : T2U_F_STREAM;
                        h += t2u_varint_put(body + h, st->id);
                        /* fixed 8-byte offset and 4-byte length (any varint form is valid) */
                        body[h] = 0xC0;
                        for (int i = 1; i < 8; i++) body[h + i] = (uint8_t)(off >> (56 - 8 * i));
                        body[h] |= (uint8_t)(off >> 56);
                        h += 8;
                        body[h] = (uint8_t)(0x80 | len >> 24);
                        body[h + 1] = (uint8_t)(len >> 16), body[h + 2] = (uint8_t)(len >> 8), body[h + 3] = (uint8_t)len;
                        h += 4;
                        n = h + len;
                        c->sent_new_bytes += newb;
                        rec.has_stream = 1;
                        rec.slot = (uint8_t)slot;
                        rec.stream_id = st->id;
                        rec.off = off;
                        rec.len = (uint32_t)len;
                        rec.fin = (uint8_t)fin;
                        rec.ack_eliciting = 1;
                    }
                }
            }
        }
        if (probe && !rec.ack_eliciting) {
            body[n++] = T2U_F_PING;
            rec.ack_eliciting = 1;
        }
        if (n == 0) return 0;
    }
    /* Header, then seal. */
    uint64_t pn = c->next_pn++;
    out[0] = (uint8_t)(0x04 | c->key_phase);
    out[1] = 0;
    t2u_wbe64(out + 2, c->peer_cid);
    t2u_wbe64(out + 10, pn);
    uint8_t nn[12];
    nonce(nn, &c->send_keys, pn);
    t2u_aead_seal(out + HEADER_LEN, c->send_keys.key, nn, out, HEADER_LEN, body, n);
    size_t total = HEADER_LEN + n + 16;
    t2u_sent *slotp = &c->sent[pn % T2U_SENT_RING];
    if (slotp->pn == pn - T2U_SENT_RING && slotp->in_flight && !slotp->acked && !slotp->lost && pn >= T2U_SENT_RING)
        on_lost(c, slotp, now, 1); /* overwritten before an answer: count it lost */
    rec.pn = pn;
    rec.sent_ms = now;
    rec.bytes = (uint16_t)total;
    rec.in_flight = rec.ack_eliciting;
    *slotp = rec;
    if (rec.in_flight) {
        t2u_cc_on_sent(&c->cc, US(now), total, c->bytes_in_flight, US(c->srtt), &slotp->snap);
        c->bytes_in_flight += total;
        c->last_ack_eliciting_sent_ms = now;
    }
    c->bytes_sent += total;
    if (c->amp_active && t2u_addr_equal(&c->amp_addr, to)) c->amp_sent += total;
    return total;
}

uint64_t t2u_conn_next_deadline(const t2u_conn *c) {
    uint64_t next = c->last_receive_ms + c->idle_ms;
    if (c->pv_active) {
        if (c->pv_deadline < next) next = c->pv_deadline;
        if (c->pv_sends < MAX_CHALLENGES && c->pv_next_send < next &&
            !amplification_blocked(c, &c->pv_addr, CHALLENGE_PACKET))
            next = c->pv_next_send;
    }
    if (amplification_blocked(c, &c->peer, T2U_PACKET_SIZE)) {
        /* Nothing but challenges and path responses may leave: wait for the peer or the expiry. */
        return c->npath ? 0 : next;
    }
    if (c->ack_pending && c->ack_due_ms < next) next = c->ack_due_ms;
    if (c->bytes_in_flight > 0) {
        uint64_t pto = c->last_ack_eliciting_sent_ms + pto_ms(c);
        if (pto < next) next = pto;
    }
    if (c->npath || c->ctl_pending || c->ku_response_pending) next = 0;
    if (c->bytes_in_flight + T2U_PACKET_SIZE <= t2u_cc_window(&c->cc) && stream_data_waiting(c)) {
        /* The pacer holds data back: one wake-up for the next batch (rounded up to the clock),
         * counted from now: from the last send, a wait longer than the pacer's longest would
         * lie in the past and the owner would spin. */
        uint64_t paced = (t2u_cc_pacing_deadline(&c->cc, US(c->now_ms), T2U_PACKET_SIZE, US(c->srtt)) + 999) / 1000;
        if (paced < next) next = paced;
    }
    return next;
}

void t2u_conn_handle_timeout(t2u_conn *c, uint64_t now) {
    if (now > c->now_ms) c->now_ms = now;
    if (now >= c->last_receive_ms + c->idle_ms) {
        c->closing = 1;
        return;
    }
    if (c->pv_active && now >= c->pv_deadline) {
        /* The new address never answered: back to the last one that did. */
        c->pv_active = 0;
        if (t2u_addr_equal(&c->peer, &c->pv_addr)) {
            c->peer = c->validated;
            c->amp_active = 0;
        }
    }
    detect_losses(c, now);
    if (c->bytes_in_flight > 0 && now >= c->last_ack_eliciting_sent_ms + pto_ms(c)) {
        /* PTO: everything in flight is presumed lost and sent again (a spurious copy is harmless). */
        for (uint64_t pn = c->oldest_unacked_pn; pn < c->next_pn; pn++) {
            t2u_sent *p = &c->sent[pn % T2U_SENT_RING];
            if (p->pn == pn && p->in_flight && !p->acked && !p->lost) on_lost(c, p, now, c->pto_count >= 1);
        }
        c->pto_count++;
        c->last_ack_eliciting_sent_ms = now;
        /* Two probe timeouts without an answer: the path changed or is overloaded. */
        if (c->pto_count >= 2) t2u_cc_on_persistent_congestion(&c->cc);
    }
}

void t2u_conn_consumed(t2u_conn *c, t2u_stream *st, size_t n) {
    t2u_recv_consume(&st->recv, n);
    c->consumed_bytes += n;
    /* Credit back once half a window was used. */
    if (st->recv.base + T2U_STREAM_WINDOW - st->recv.max_granted >= T2U_STREAM_WINDOW / 2 && !st->recv.fin) {
        st->recv.max_granted = st->recv.base + T2U_STREAM_WINDOW;
        st->max_stream_data_pending = 1;
    }
    if (c->consumed_bytes + T2U_CONN_WINDOW - c->max_data_granted >= T2U_CONN_WINDOW / 2) {
        c->max_data_granted = c->consumed_bytes + T2U_CONN_WINDOW;
        c->ctl_pending |= T2U_CTL_MAX_DATA;
    }
}

void t2u_conn_reset_stream(t2u_conn *c, t2u_stream *st, uint64_t code) {
    (void)c;
    st->reset_pending = 1;
    st->reset_code = code;
    st->state = T2U_ST_CLOSED;
    st->send.fin = 1;
    st->send.fin_acked = 1;
    st->send.base = st->send.next = st->send.end;
    st->send.lost.n = 0;
}

void t2u_conn_collect(t2u_conn *c, void (*closed)(t2u_stream *st)) {
    for (int i = 0; i < T2U_MAX_STREAMS; i++) {
        t2u_stream *st = &c->streams[i];
        if (!st->live || st->reset_pending) continue;
        int recv_done = t2u_recv_done(&st->recv) && (st->state == T2U_ST_CLOSED || st->tcp_eof_sent);
        int send_done = t2u_send_done(&st->send);
        if (!(recv_done && send_done)) continue;
        if (closed) closed(st);
        (void)t2u_ranges_add(&c->finished, st->id >> 1, (st->id >> 1) + 1);
        if (st->fd >= 0) close(st->fd);
        free(st->recv.buf);
        free(st->send.buf);
        st->live = 0;
        c->streams_closed++;
        if (c->streams_closed + T2U_MAX_STREAMS > c->max_streams_granted) {
            c->max_streams_granted = c->streams_closed + T2U_MAX_STREAMS;
            c->ctl_pending |= T2U_CTL_MAX_STREAMS;
        }
    }
}
