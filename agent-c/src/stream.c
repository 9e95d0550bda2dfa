/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

int t2u_ranges_add(t2u_ranges *r, uint64_t lo, uint64_t hi) {
    if (lo >= hi) return 0;
    size_t i = 0;
    while (i < r->n && r->hi[i] < lo) i++;          /* first range that may touch [lo, hi) */
    size_t j = i;
    while (j < r->n && r->lo[j] <= hi) j++;          /* ranges i..j-1 overlap or touch */
    if (i == j) {
        if (r->n == T2U_RANGES) return -1;
        memmove(&r->lo[i + 1], &r->lo[i], (r->n - i) * sizeof r->lo[0]);
        memmove(&r->hi[i + 1], &r->hi[i], (r->n - i) * sizeof r->hi[0]);
        r->lo[i] = lo;
        r->hi[i] = hi;
        r->n++;
        return 0;
    }
    uint64_t nlo = lo < r->lo[i] ? lo : r->lo[i], nhi = hi > r->hi[j - 1] ? hi : r->hi[j - 1];
    r->lo[i] = nlo;
    r->hi[i] = nhi;
    memmove(&r->lo[i + 1], &r->lo[j], (r->n - j) * sizeof r->lo[0]);
    memmove(&r->hi[i + 1], &r->hi[j], (r->n - j) * sizeof r->hi[0]);
    r->n -= j - i - 1;
    return 0;
}

void t2u_ranges_trim(t2u_ranges *r, uint64_t floor) {
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->hi[i] <= floor) continue;
        r->lo[k] = r->lo[i] < floor ? floor : r->lo[i];
        r->hi[k] = r->hi[i];
        k++;
    }
    r->n = k;
}

int t2u_recv_init(t2u_recv *r, size_t cap) {
    memset(r, 0, sizeof *r);
    r->buf = malloc(cap);
    r->cap = cap;
    r->max_granted = cap;
    return r->buf ? 0 : -1;
}

int t2u_recv_data(t2u_recv *r, uint64_t off, const uint8_t *p, size_t n, int fin, uint64_t *highest, uint64_t *new_bytes) {
    uint64_t end = off + n;
    *new_bytes = end > *highest ? end - *highest : 0;
    if (end > r->base + r->cap || end > r->max_granted) return -1;
    if (r->fin && (end > r->final_size || (fin && end != r->final_size))) return -1;
    if (fin) {
        for (size_t i = 0; i < r->have.n; i++)
            if (r->have.hi[i] > end) return -1;
        if (*highest > end) return -1;
    }
    uint64_t lo = off < r->base ? r->base : off;
    if (lo < end) {
        t2u_ranges copy = r->have;
        if (t2u_ranges_add(&copy, lo, end) != 0) return -2;
        for (uint64_t o = lo; o < end;) { /* copy into the ring, wrapping */
            size_t at = (size_t)(o % r->cap), piece = r->cap - at;
            if (piece > end - o) piece = (size_t)(end - o);
            memcpy(r->buf + at, p + (o - off), piece);
            o += piece;
        }
        r->have = copy;
    }
    if (fin) {
        r->fin = 1;
        r->final_size = end;
    }
    if (end > *highest) *highest = end;
    return 0;
}

size_t t2u_recv_ready(const t2u_recv *r, const uint8_t **p1, size_t *n1, const uint8_t **p2, size_t *n2) {
    *n1 = *n2 = 0;
    if (r->have.n == 0 || r->have.lo[0] > r->base) return 0;
    size_t total = (size_t)(r->have.hi[0] - r->base), at = (size_t)(r->base % r->cap);
    *p1 = r->buf + at;
    *n1 = total < r->cap - at ? total : r->cap - at;
    *p2 = r->buf;
    *n2 = total - *n1;
    return total;
}

void t2u_recv_consume(t2u_recv *r, size_t n) {
    r->base += n;
    t2u_ranges_trim(&r->have, r->base);
}

int t2u_recv_done(const t2u_recv *r) { return r->fin && r->base == r->final_size; }

int t2u_send_init(t2u_send *s, size_t cap) {
    memset(s, 0, sizeof *s);
    s->buf = malloc(cap);
    s->cap = cap;
    return s->buf ? 0 : -1;
}

size_t t2u_send_space(const t2u_send *s, uint8_t **p) {
    size_t used = (size_t)(s->end - s->base), at = (size_t)(s->end % s->cap);
    if (s->fin || used >= s->cap) return 0;
    *p = s->buf + at;
    size_t room = s->cap - used;
    return room < s->cap - at ? room : s->cap - at;
}

void t2u_send_wrote(t2u_send *s, size_t n) { s->end += n; }

static void copy_out(const t2u_send *s, uint64_t off, size_t len, uint8_t *out) {
    for (size_t done = 0; done < len;) {
        size_t at = (size_t)((off + done) % s->cap), piece = s->cap - at;
        if (piece > len - done) piece = len - done;
        memcpy(out + done, s->buf + at, piece);
        done += piece;
    }
}

int t2u_send_pending(const t2u_send *s, uint64_t conn_credit) {
    if (s->lost.n || s->fin_lost) return 1;
    uint64_t limit = s->end < s->peer_max ? s->end : s->peer_max;
    if (s->next < limit && conn_credit > 0) return 1;
    return s->fin && !s->fin_sent && s->next == s->end;
}

int t2u_send_next(t2u_send *s, size_t max, uint64_t conn_credit, uint64_t *off, size_t *len, int *fin, uint8_t *out,
                  uint64_t *new_bytes) {
    *new_bytes = 0;
    *fin = 0;
    t2u_ranges_trim(&s->lost, s->base);
    if (s->lost.n) {
        *off = s->lost.lo[0];
        uint64_t n = s->lost.hi[0] - s->lost.lo[0];
        *len = n < max ? (size_t)n : max;
        s->lost.lo[0] += *len;
        if (s->lost.lo[0] == s->lost.hi[0]) t2u_ranges_trim(&s->lost, s->lost.hi[0]);
        copy_out(s, *off, *len, out);
        *fin = s->fin && *off + *len == s->end && (s->fin_lost || s->fin_sent);
        if (*fin) s->fin_lost = 0;
        return 1;
    }
    uint64_t limit = s->end < s->peer_max ? s->end : s->peer_max;
    if (s->next < limit && conn_credit > 0) {
        uint64_t n = limit - s->next;
        if (n > max) n = max;
        if (n > conn_credit) n = conn_credit;
        *off = s->next;
        *len = (size_t)n;
        copy_out(s, *off, *len, out);
        s->next += n;
        if (s->next > s->highest_sent) {
            *new_bytes = s->next - s->highest_sent;
            s->highest_sent = s->next;
        }
        *fin = s->fin && s->next == s->end;
        if (*fin) s->fin_sent = 1;
        return 1;
    }
    if ((s->fin && !s->fin_sent && s->next == s->end) || s->fin_lost) {
        *off = s->end;
        *len = 0;
        *fin = 1;
        s->fin_sent = 1;
        s->fin_lost = 0;
        return 1;
    }
    return 0;
}

void t2u_send_on_ack(t2u_send *s, uint64_t off, size_t len, int fin) {
    if (fin) s->fin_acked = 1;
    if (len == 0 || off + len <= s->base) return;
    if (t2u_ranges_add(&s->acked, off < s->base ? s->base : off, off + len) != 0) return; /* resent later: harmless */
    if (s->acked.n && s->acked.lo[0] <= s->base) {
        s->base = s->acked.hi[0];
        t2u_ranges_trim(&s->acked, s->base);
        t2u_ranges_trim(&s->lost, s->base);
    }
}

void t2u_send_on_lost(t2u_send *s, uint64_t off, size_t len, int fin) {
    if (fin && !s->fin_acked) s->fin_lost = 1;
    if (len == 0 || off + len <= s->base) return;
    uint64_t lo = off < s->base ? s->base : off;
    /* Skip what was acknowledged meanwhile (a spurious loss); a full range set resends later. */
    for (size_t i = 0; i < s->acked.n; i++)
        if (s->acked.lo[i] <= lo && s->acked.hi[i] >= off + len) return;
    if (t2u_ranges_add(&s->lost, lo, off + len) != 0 && lo < s->next) s->next = lo; /* no slot: go back to lo */
}

int t2u_send_done(const t2u_send *s) { return s->fin && s->fin_acked && s->base == s->end; }
