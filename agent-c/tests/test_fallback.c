/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The TCP fallback, sans-IO: the path selector on a virtual clock (ServerPathSelectorTests'
 * cases), the upgrade answer and framing parser (split anywhere, bounds), the send buffer. */
#include <stdio.h>
#include <string.h>

#include "fallback.h"

#include "check.h"

static int drain(t2u_path *p) {
    int all = 0, a;
    while ((a = t2u_path_poll_action(p)) != 0) all |= a;
    return all;
}

/* Advances the clock to each deadline up to `until`, firing timeouts; returns the actions seen. */
static int run_until(t2u_path *p, uint64_t *now, uint64_t until) {
    int all = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t d = t2u_path_deadline(p);
        if (d > until) break;
        if (d > *now) *now = d;
        t2u_path_timeout(p, *now);
        all |= drain(p);
    }
    *now = until;
    return all;
}

static void selector(void) {
    t2u_path p;
    uint64_t now = 0;
    /* UDP answers: the stream is never opened. */
    t2u_path_init(&p);
    t2u_path_sent_udp(&p, 0);
    t2u_path_received_udp(&p, 40);
    CHECK(t2u_path_deadline(&p) == T2U_FB_NEVER);
    CHECK(run_until(&p, &now, 60000) == 0);

    /* UDP silent: opened 1.5 s after the first unanswered send (later sends do not move it). */
    t2u_path_init(&p);
    now = 0;
    t2u_path_sent_udp(&p, 0);
    t2u_path_sent_udp(&p, 1000);
    CHECK(t2u_path_deadline(&p) == 1500);
    t2u_path_timeout(&p, 1499);
    CHECK(drain(&p) == 0);
    CHECK(run_until(&p, &now, 1500) == T2U_FB_OPEN && p.stream == T2U_FB_CONNECTING && !p.carries);
    CHECK(t2u_path_deadline(&p) == T2U_FB_NEVER); /* connecting: nothing until it is up or down */
    t2u_path_stream_up(&p, 1600);
    CHECK(p.stream == T2U_FB_UP && p.carries && drain(&p) == 0);
    /* On the stream: a UDP probe every 5 s. */
    CHECK(t2u_path_deadline(&p) == 6600);
    now = 1600;
    CHECK(run_until(&p, &now, 6599) == 0);
    CHECK(run_until(&p, &now, 6600) == T2U_FB_PROBE);
    CHECK(t2u_path_deadline(&p) == 11600);
    /* The first UDP answer: back to UDP, the stream closed. */
    t2u_path_received_udp(&p, 7000);
    CHECK(!p.carries && p.stream == T2U_FB_IDLE && drain(&p) == T2U_FB_CLOSE);
    CHECK(t2u_path_deadline(&p) == T2U_FB_NEVER);

    /* UDP answers while the stream connects: closed, and a late "up" changes nothing. */
    t2u_path_init(&p);
    now = 0;
    t2u_path_sent_udp(&p, 0);
    CHECK(run_until(&p, &now, 1500) == T2U_FB_OPEN);
    t2u_path_received_udp(&p, 1550);
    CHECK(drain(&p) == T2U_FB_CLOSE && p.stream == T2U_FB_IDLE);
    t2u_path_stream_up(&p, 1600);
    CHECK(!p.carries && p.stream == T2U_FB_IDLE && drain(&p) == 0);

    /* A failing stream: retried after 1 s, doubling to 30 s; UDP carries meanwhile. */
    t2u_path_init(&p);
    now = 0;
    t2u_path_sent_udp(&p, 0);
    CHECK(run_until(&p, &now, 1500) == T2U_FB_OPEN);
    uint64_t expect[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        t2u_path_stream_down(&p, now);
        CHECK(!p.carries && p.stream == T2U_FB_IDLE);
        CHECK(t2u_path_deadline(&p) == now + expect[i]);
        uint64_t down = now;
        CHECK(run_until(&p, &now, down + expect[i] - 1) == 0);
        CHECK(run_until(&p, &now, down + expect[i]) == T2U_FB_OPEN);
    }
    /* Up resets the delay; a lost stream then retries after 1 s again, and UDP silence still counts. */
    t2u_path_stream_up(&p, now);
    CHECK(p.carries);
    t2u_path_stream_down(&p, now);
    CHECK(!p.carries && t2u_path_deadline(&p) == now + 1000);
    t2u_path_stream_down(&p, now); /* twice: once counted */
    CHECK(t2u_path_deadline(&p) == now + 1000);
    /* A UDP answer ends the back-off too. */
    t2u_path_received_udp(&p, now);
    CHECK(t2u_path_deadline(&p) == T2U_FB_NEVER && drain(&p) == 0);
    t2u_path_sent_udp(&p, now);
    CHECK(t2u_path_deadline(&p) == now + 1500);
}

typedef struct {
    int upgrades, count, stop_after;
    size_t total;
    uint8_t last[T2U_FB_MAX_FRAME];
    size_t last_len;
    int order_ok;
} sink;

static int collect(void *ctx, uint8_t *d, size_t n) {
    sink *s = ctx;
    if (!d) {
        s->upgrades++;
        if (s->count) s->order_ok = 0; /* datagrams before the upgrade */
        return 0;
    }
    if (!s->upgrades) s->order_ok = 0;
    s->count++;
    s->total += n;
    memcpy(s->last, d, n);
    s->last_len = n;
    return s->stop_after && s->count == s->stop_after;
}

static const char ANSWER[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: t2u\r\nConnection: Upgrade\r\n\r\n";

static size_t build(uint8_t *out, const char *head, const size_t *lens, size_t nframes) {
    size_t k = strlen(head);
    memcpy(out, head, k);
    for (size_t f = 0; f < nframes; f++) {
        out[k++] = (uint8_t)(lens[f] >> 8);
        out[k++] = (uint8_t)lens[f];
        for (size_t i = 0; i < lens[f]; i++) out[k++] = (uint8_t)(f * 31 + i);
    }
    return k;
}

static void parser(void) {
    static uint8_t wire[20000];
    static t2u_fb_rx r;
    char err[160];
    sink s;
    size_t lens[] = {1, 1200, T2U_FB_MAX_FRAME, 37};
    size_t n = build(wire, ANSWER, lens, 4);
    /* Whole, then split at every chunk size (1...n): same datagrams, upgrade first. */
    for (size_t chunk = 1; chunk <= n; chunk = chunk < 16 ? chunk + 1 : chunk * 3) {
        memset(&r, 0, sizeof r);
        memset(&s, 0, sizeof s);
        s.order_ok = 1;
        int rc = 0;
        for (size_t off = 0; off < n && rc == 0; off += chunk)
            rc = t2u_fb_feed(&r, wire + off, n - off < chunk ? n - off : chunk, collect, &s, err, sizeof err);
        CHECK(rc == 0 && s.upgrades == 1 && s.count == 4 && s.order_ok);
        CHECK(s.total == 1 + 1200 + T2U_FB_MAX_FRAME + 37 && s.last_len == 37 && s.last[36] == (uint8_t)(3 * 31 + 36));
    }
    /* deliver stops the feed (the stream closed under it). */
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    CHECK(t2u_fb_feed(&r, wire, n, collect, &s, err, sizeof err) == 1 && s.count == 2);

    /* A web server's 404: refused, the status line in the message. */
    memset(&r, 0, sizeof r);
    const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    CHECK(t2u_fb_feed(&r, (const uint8_t *)nf, strlen(nf), collect, &s, err, sizeof err) == -1);
    CHECK(strstr(err, "not an upgrade") && strstr(err, "HTTP/1.1 404 Not Found\""));
    /* Control characters are not logged as such. */
    memset(&r, 0, sizeof r);
    const char *ctl = "HTTP/1.0 101\x1b[2J\r\n\r\n";
    CHECK(t2u_fb_feed(&r, (const uint8_t *)ctl, strlen(ctl), collect, &s, err, sizeof err) == -1 && !strchr(err, 0x1b));
    /* A head without end: refused at 2049 bytes (2048 is the most accepted). */
    static uint8_t big[T2U_FB_MAX_HEAD + 10];
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 101 x", 14);
    memcpy(big + T2U_FB_MAX_HEAD - 4, "\r\n\r\n", 4);
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    CHECK(t2u_fb_feed(&r, big, T2U_FB_MAX_HEAD, collect, &s, err, sizeof err) == 0 && s.upgrades == 1);
    memcpy(big + T2U_FB_MAX_HEAD - 4, "aaaa", 4);
    memset(&r, 0, sizeof r);
    CHECK(t2u_fb_feed(&r, big, T2U_FB_MAX_HEAD, collect, &s, err, sizeof err) == 0);
    CHECK(t2u_fb_feed(&r, big + T2U_FB_MAX_HEAD, 1, collect, &s, err, sizeof err) == -1 && strstr(err, "longer than 2048"));
    /* Frames: length 0 and above 4096 refused at their prefix, before any byte of them. */
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    size_t k = build(wire, ANSWER, lens, 1);
    wire[k++] = 0x10;
    wire[k++] = 0x01;
    CHECK(t2u_fb_feed(&r, wire, k, collect, &s, err, sizeof err) == -1 && s.count == 1 && strstr(err, "4097 bytes"));
    memset(&r, 0, sizeof r);
    k = build(wire, ANSWER, lens, 0);
    wire[k++] = 0;
    wire[k++] = 0;
    CHECK(t2u_fb_feed(&r, wire, k, collect, &s, err, sizeof err) == -1 && strstr(err, "frame of 0 bytes"));
}

static void sender(void) {
    static t2u_fb_tx t;
    static uint8_t d[T2U_FB_MAX_FRAME + 1];
    char req[256];
    memset(&t, 0, sizeof t);
    size_t n = t2u_fb_request(req, sizeof req, "192.0.2.1:443");
    CHECK(n && strcmp(req, "GET /t2u HTTP/1.1\r\nHost: 192.0.2.1:443\r\nUpgrade: t2u\r\nConnection: Upgrade\r\n\r\n") == 0);
    CHECK(t2u_fb_request(req, 20, "192.0.2.1:443") == 0);
    CHECK(t2u_fb_queue(&t, (const uint8_t *)req, n, 0) == 0 && t.len == n);
    CHECK(t2u_fb_queue(&t, d, 0, 1) == -1 && t2u_fb_queue(&t, d, T2U_FB_MAX_FRAME + 1, 1) == -1 && t.len == n);
    d[0] = 0xAB;
    CHECK(t2u_fb_queue(&t, d, 1200, 1) == 0 && t.buf[n] == 0x04 && t.buf[n + 1] == 0xB0 && t.buf[n + 2] == 0xAB);
    /* Bounded: fills, then drops; what was sent makes room again (compacted). */
    int queued = 1, dropped = 0;
    for (int i = 0; i < 200; i++) {
        if (t2u_fb_queue(&t, d, 1200, 1) == 0) queued++;
        else dropped++;
    }
    CHECK(queued == (int)((T2U_FB_SEND_BUFFER - n) / 1202) && dropped == 200 - queued + 1);
    CHECK(t.len <= T2U_FB_SEND_BUFFER);
    t.off = 1202 * 3 + n; /* three frames and the head sent */
    CHECK(t2u_fb_queue(&t, d, 1200, 1) == 0 && t.off == 0 && t.len <= T2U_FB_SEND_BUFFER);
    CHECK(t.buf[0] == 0x04 && t.buf[1] == 0xB0);
}

int main(void) {
    selector();
    parser();
    sender();
    printf("test_fallback: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
