/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The TCP fallback to the server (docs/protocol/tcp-fallback.md), sans-IO: the path selector
 * (ServerPathSelector: UDP first, the stream after 1.5 s of UDP silence, back to UDP on its
 * first answer), the agent's side of the HTTP/1.1 upgrade and the 2-byte length framing, and a
 * bounded send buffer. This agent speaks the upgrade without TLS (the server sniffs the first
 * byte): the datagrams are sealed by t2u itself, TLS was only camouflage. */
#ifndef T2U_FALLBACK_H
#define T2U_FALLBACK_H

#include <stddef.h>
#include <stdint.h>

#define T2U_FB_MAX_FRAME 4096
#define T2U_FB_MAX_HEAD 2048
/* Unsent bytes beyond which datagrams are dropped (the transport above retransmits). */
#define T2U_FB_SEND_BUFFER (64 * 1024)

enum { T2U_FB_IDLE, T2U_FB_CONNECTING, T2U_FB_UP };
/* Actions, drained by t2u_path_poll_action in this order. */
enum { T2U_FB_CLOSE = 1, T2U_FB_OPEN = 2, T2U_FB_PROBE = 4 };

typedef struct {
    uint64_t open_after_ms, probe_interval_ms, reconnect_ms, max_reconnect_ms;
    int stream;                /* T2U_FB_IDLE, _CONNECTING, _UP */
    int carries;               /* server traffic goes over the stream (else UDP) */
    uint64_t unanswered_since; /* first UDP datagram to the server left unanswered; T2U_FB_NEVER: UDP answers */
    uint64_t reconnect_at, reconnect_delay, next_probe_at;
    int actions;
} t2u_path;

#define T2U_FB_NEVER UINT64_MAX

/* Defaults: 1.5 s, 5 s, 1 s doubling to 30 s. */
void t2u_path_init(t2u_path *p);
/* A datagram the server answers went to it over UDP. */
void t2u_path_sent_udp(t2u_path *p, uint64_t now);
/* A datagram came from the server over UDP: UDP works, the stream is not needed. */
void t2u_path_received_udp(t2u_path *p, uint64_t now);
void t2u_path_stream_up(t2u_path *p, uint64_t now);
void t2u_path_stream_down(t2u_path *p, uint64_t now);
uint64_t t2u_path_deadline(const t2u_path *p);
void t2u_path_timeout(t2u_path *p, uint64_t now);
/* The next action (T2U_FB_CLOSE, _OPEN, _PROBE), or 0. */
int t2u_path_poll_action(t2u_path *p);

/* What arrives on the stream: the server's head (up to its blank line), then frames. */
typedef struct {
    int upgraded;
    int matched; /* of the head's "\r\n\r\n" */
    size_t have;
    uint8_t buf[T2U_FB_MAX_FRAME + 2];
} t2u_fb_rx;

/* Called with each datagram; with (NULL, 0) once, when the upgrade is answered. A non-zero
 * return stops the feed (the stream was closed under it). */
typedef int (*t2u_fb_deliver)(void *ctx, uint8_t *datagram, size_t len);
/* 0, 1 (stopped by deliver), or -1 with err saying what was wrong (the stream must close). */
int t2u_fb_feed(t2u_fb_rx *r, const uint8_t *p, size_t n, t2u_fb_deliver deliver, void *ctx, char *err, size_t errcap);

typedef struct {
    size_t off, len; /* unsent: buf[off, len) */
    uint8_t buf[T2U_FB_SEND_BUFFER];
} t2u_fb_tx;

/* Queues bytes (the request head: raw; a datagram: framed). 0, or -1 when they do not fit (or a
 * datagram is empty or above T2U_FB_MAX_FRAME): dropped, nothing queued. */
int t2u_fb_queue(t2u_fb_tx *t, const uint8_t *p, size_t n, int framed);
/* The upgrade request to queue first (`host`: the Host header's value). */
size_t t2u_fb_request(char *out, size_t cap, const char *host);

#endif
