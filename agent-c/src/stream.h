/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Stream buffers without I/O: a receive ring (out-of-order STREAM data reassembled within the
 * window granted to the peer) and a send ring (bytes read from TCP, kept until acknowledged,
 * with the ranges to send again after a loss). */
#ifndef T2U_STREAM_H
#define T2U_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define T2U_RANGES 32

/* Disjoint [lo, hi) ranges, ascending. */
typedef struct {
    uint64_t lo[T2U_RANGES], hi[T2U_RANGES];
    size_t n;
} t2u_ranges;

/* Adds [lo, hi); -1 when it would need more than T2U_RANGES ranges (nothing changed). */
int t2u_ranges_add(t2u_ranges *r, uint64_t lo, uint64_t hi);
/* Removes everything below `floor`. */
void t2u_ranges_trim(t2u_ranges *r, uint64_t floor);

typedef struct {
    uint8_t *buf;
    size_t cap;            /* window: data at offsets [base, base + cap) */
    uint64_t base;         /* consumed (written to TCP, or the target header) */
    t2u_ranges have;       /* received ranges at or above base */
    int fin;               /* final size known */
    uint64_t final_size;
    uint64_t max_granted;  /* MAX_STREAM_DATA sent (or the initial window) */
} t2u_recv;

typedef struct {
    uint8_t *buf;
    size_t cap;
    uint64_t base;         /* everything below is acknowledged */
    uint64_t end;          /* bytes read from TCP */
    uint64_t next;         /* first never-sent offset */
    t2u_ranges acked;      /* acknowledged ranges above base */
    t2u_ranges lost;       /* ranges to send again */
    int fin;               /* TCP EOF: final size = end */
    int fin_sent, fin_acked, fin_lost;
    uint64_t peer_max;     /* MAX_STREAM_DATA from the peer */
    uint64_t highest_sent; /* for connection flow control: bytes beyond it are new */
} t2u_send;

int t2u_recv_init(t2u_recv *r, size_t cap);
/* Stores STREAM data; -1 on a flow-control or final-size violation, -2 when out of range slots
 * (the packet is then not acknowledged and comes again). *new_bytes: bytes beyond the highest
 * offset seen before (for connection flow control). */
int t2u_recv_data(t2u_recv *r, uint64_t off, const uint8_t *p, size_t n, int fin, uint64_t *highest, uint64_t *new_bytes);
/* Contiguous bytes ready at base (up to the first gap), as one or two pieces of the ring. */
size_t t2u_recv_ready(const t2u_recv *r, const uint8_t **p1, size_t *n1, const uint8_t **p2, size_t *n2);
void t2u_recv_consume(t2u_recv *r, size_t n);
int t2u_recv_done(const t2u_recv *r); /* FIN received and everything consumed */

int t2u_send_init(t2u_send *s, size_t cap);
/* Room for bytes from TCP (contiguous piece at the ring's write position). */
size_t t2u_send_space(const t2u_send *s, uint8_t **p);
void t2u_send_wrote(t2u_send *s, size_t n);
/* Next range to send (lost first, then new data within peer_max and `conn_credit` new bytes):
 * offset, length (<= max), fin. 0 when nothing. Copies the bytes to out. */
int t2u_send_next(t2u_send *s, size_t max, uint64_t conn_credit, uint64_t *off, size_t *len, int *fin, uint8_t *out,
                  uint64_t *new_bytes);
void t2u_send_on_ack(t2u_send *s, uint64_t off, size_t len, int fin);
void t2u_send_on_lost(t2u_send *s, uint64_t off, size_t len, int fin);
int t2u_send_done(const t2u_send *s); /* FIN sent and everything acknowledged */
int t2u_send_pending(const t2u_send *s, uint64_t conn_credit); /* something t2u_send_next would return */

#endif
