/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "fallback.h"

#include <stdio.h>
#include <string.h>

void t2u_path_init(t2u_path *p) {
    memset(p, 0, sizeof *p);
    p->open_after_ms = 1500;
    p->probe_interval_ms = 5000;
    p->reconnect_ms = p->reconnect_delay = 1000;
    p->max_reconnect_ms = 30000;
    p->unanswered_since = p->next_probe_at = T2U_FB_NEVER;
}

void t2u_path_sent_udp(t2u_path *p, uint64_t now) {
    if (p->unanswered_since == T2U_FB_NEVER) p->unanswered_since = now;
}

void t2u_path_received_udp(t2u_path *p, uint64_t now) {
    (void)now;
    p->unanswered_since = p->next_probe_at = T2U_FB_NEVER;
    p->carries = 0;
    p->reconnect_delay = p->reconnect_ms;
    if (p->stream != T2U_FB_IDLE) {
        p->stream = T2U_FB_IDLE;
        p->actions |= T2U_FB_CLOSE;
    }
}

void t2u_path_stream_up(t2u_path *p, uint64_t now) {
    if (p->stream != T2U_FB_CONNECTING) return;
    if (p->unanswered_since == T2U_FB_NEVER) { /* UDP answered while it connected: it lost the race */
        p->stream = T2U_FB_IDLE;
        p->actions |= T2U_FB_CLOSE;
        return;
    }
    p->stream = T2U_FB_UP;
    p->carries = 1;
    p->reconnect_delay = p->reconnect_ms;
    p->next_probe_at = now + p->probe_interval_ms;
}

void t2u_path_stream_down(t2u_path *p, uint64_t now) {
    if (p->stream == T2U_FB_IDLE) return;
    p->stream = T2U_FB_IDLE;
    p->carries = 0;
    p->next_probe_at = T2U_FB_NEVER;
    p->reconnect_at = now + p->reconnect_delay;
    p->reconnect_delay = p->reconnect_delay * 2 < p->max_reconnect_ms ? p->reconnect_delay * 2 : p->max_reconnect_ms;
    /* UDP again now; the silence that opened the stream still counts. */
}

uint64_t t2u_path_deadline(const t2u_path *p) {
    uint64_t next = T2U_FB_NEVER;
    if (p->actions) return 0;
    if (p->stream == T2U_FB_IDLE && p->unanswered_since != T2U_FB_NEVER) {
        next = p->unanswered_since + p->open_after_ms;
        if (p->reconnect_at > next) next = p->reconnect_at;
    }
    if (p->carries && p->next_probe_at < next) next = p->next_probe_at;
    return next;
}

void t2u_path_timeout(t2u_path *p, uint64_t now) {
    if (p->stream == T2U_FB_IDLE && p->unanswered_since != T2U_FB_NEVER && now >= p->unanswered_since + p->open_after_ms &&
        now >= p->reconnect_at) {
        p->stream = T2U_FB_CONNECTING;
        p->actions |= T2U_FB_OPEN;
    }
    if (p->carries && now >= p->next_probe_at) {
        p->next_probe_at = now + p->probe_interval_ms;
        p->actions |= T2U_FB_PROBE;
    }
}

int t2u_path_poll_action(t2u_path *p) {
    int a = p->actions & -p->actions; /* lowest bit first: close, open, probe */
    p->actions &= ~a;
    return a;
}

/* At most 80 characters of the line, control characters as '?': it goes into a log line. */
static void printable(char *out, size_t cap, const uint8_t *p, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n && p[i] != '\r' && k < 80 && k + 1 < cap; i++) out[k++] = p[i] < 0x20 || p[i] >= 0x7F ? '?' : (char)p[i];
    out[k] = 0;
}

int t2u_fb_feed(t2u_fb_rx *r, const uint8_t *p, size_t n, t2u_fb_deliver deliver, void *ctx, char *err, size_t errcap) {
    size_t i = 0;
    while (!r->upgraded && i < n) {
        uint8_t b = p[i++];
        if (r->have == T2U_FB_MAX_HEAD) {
            snprintf(err, errcap, "answer head longer than %d bytes", T2U_FB_MAX_HEAD);
            return -1;
        }
        r->buf[r->have++] = b;
        r->matched = b == '\r' ? (r->matched == 2 ? 3 : 1) : b == '\n' && (r->matched == 1 || r->matched == 3) ? r->matched + 1 : 0;
        if (r->matched < 4) continue;
        if (r->have < 12 || memcmp(r->buf, "HTTP/1.1 101", 12) != 0) {
            char line[81];
            printable(line, sizeof line, r->buf, r->have);
            snprintf(err, errcap, "answer is not an upgrade: \"%s\"", line);
            return -1;
        }
        r->upgraded = 1;
        r->have = 0;
        if (deliver(ctx, NULL, 0)) return 1;
    }
    while (i < n) {
        size_t want = r->have < 2 ? 2 : 2 + ((size_t)r->buf[0] << 8 | r->buf[1]);
        size_t take = n - i < want - r->have ? n - i : want - r->have;
        memcpy(r->buf + r->have, p + i, take);
        r->have += take;
        i += take;
        if (r->have == 2) {
            size_t len = (size_t)r->buf[0] << 8 | r->buf[1];
            if (len == 0 || len > T2U_FB_MAX_FRAME) { /* before its bytes arrive */
                snprintf(err, errcap, "frame of %zu bytes (1...%d)", len, T2U_FB_MAX_FRAME);
                return -1;
            }
        } else if (r->have == want) {
            r->have = 0;
            if (deliver(ctx, r->buf + 2, want - 2)) return 1;
        }
    }
    return 0;
}

int t2u_fb_queue(t2u_fb_tx *t, const uint8_t *p, size_t n, int framed) {
    size_t need = n + (framed ? 2 : 0);
    if ((framed && (n == 0 || n > T2U_FB_MAX_FRAME)) || t->len - t->off + need > sizeof t->buf) return -1;
    if (t->len + need > sizeof t->buf) { /* room only once what was sent is dropped */
        memmove(t->buf, t->buf + t->off, t->len - t->off);
        t->len -= t->off;
        t->off = 0;
    }
    if (framed) {
        t->buf[t->len++] = (uint8_t)(n >> 8);
        t->buf[t->len++] = (uint8_t)n;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    return 0;
}

size_t t2u_fb_request(char *out, size_t cap, const char *host) {
    int n = snprintf(out, cap, "GET /t2u HTTP/1.1\r\nHost: %s\r\nUpgrade: t2u\r\nConnection: Upgrade\r\n\r\n", host);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
