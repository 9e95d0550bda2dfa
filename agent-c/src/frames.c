/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "frames.h"

#include <string.h>

size_t t2u_varint_len(uint64_t v) { return v < 64 ? 1 : v < 16384 ? 2 : v < (1u << 30) ? 4 : 8; }

size_t t2u_varint_put(uint8_t *p, uint64_t v) {
    size_t n = t2u_varint_len(v);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    p[0] |= (uint8_t)(n == 1 ? 0 : n == 2 ? 0x40 : n == 4 ? 0x80 : 0xC0);
    return n;
}

int t2u_varint_get(const uint8_t *p, size_t len, size_t *pos, uint64_t *v) {
    if (*pos >= len) return -1;
    size_t n = (size_t)1 << (p[*pos] >> 6);
    if (len - *pos < n) return -1;
    uint64_t x = p[*pos] & 0x3f;
    for (size_t i = 1; i < n; i++) x = x << 8 | p[*pos + i];
    *pos += n;
    *v = x;
    return 0;
}

int t2u_frame_ack_eliciting(uint8_t type) { return type != T2U_F_PADDING && type != T2U_F_ACK && type != T2U_F_CLOSE; }

#define GET(x) do { if (t2u_varint_get(p, len, pos, &(x)) != 0) return -1; } while (0)

int t2u_frame_decode(const uint8_t *p, size_t len, size_t *pos, t2u_frame *f) {
    if (*pos >= len) return -1;
    f->type = p[(*pos)++];
    f->data = NULL;
    f->len = 0;
    switch (f->type) {
    case T2U_F_PADDING:
        while (*pos < len && p[*pos] == 0) (*pos)++;
        return 0;
    case T2U_F_PING:
        return 0;
    case T2U_F_ACK: {
        uint64_t count, first;
        GET(f->a);
        GET(f->b);
        GET(count);
        GET(first);
        if (count >= T2U_MAX_ACK_RANGES || first > f->a) return -1;
        uint64_t smallest = f->a - first;
        f->ack_hi[0] = f->a;
        f->ack_lo[0] = smallest;
        f->nranges = 1;
        for (uint64_t i = 0; i < count; i++) {
            uint64_t gap, length;
            GET(gap);
            GET(length);
            if (smallest < 2 || gap > smallest - 2) return -1;
            uint64_t upper = smallest - gap - 2;
            if (length > upper) return -1;
            smallest = upper - length;
            f->ack_hi[f->nranges] = upper;
            f->ack_lo[f->nranges] = smallest;
            f->nranges++;
        }
        return 0;
    }
    case T2U_F_RESET_STREAM:
        GET(f->a);
        GET(f->b);
        GET(f->c);
        return 0;
    case T2U_F_STREAM:
    case T2U_F_STREAM_FIN: {
        uint64_t length;
        GET(f->a);
        GET(f->b);
        GET(length);
        if (f->b + length > (1ull << 62) || length > len - *pos) return -1;
        f->data = p + *pos;
        f->len = (size_t)length;
        *pos += (size_t)length;
        return 0;
    }
    case T2U_F_MAX_DATA:
    case T2U_F_MAX_STREAMS:
    case T2U_F_DATA_BLOCKED:
        GET(f->a);
        return 0;
    case T2U_F_MAX_STREAM_DATA:
    case T2U_F_STREAM_DATA_BLOCKED:
        GET(f->a);
        GET(f->b);
        return 0;
    case T2U_F_PATH_CHALLENGE:
    case T2U_F_PATH_RESPONSE:
        if (len - *pos < 8) return -1;
        f->a = 0;
        for (int i = 0; i < 8; i++) f->a = f->a << 8 | p[(*pos)++];
        return 0;
    case T2U_F_CLOSE: {
        uint64_t length;
        GET(f->a);
        GET(length);
        if (length > 255 || length > len - *pos) return -1;
        f->data = p + *pos;
        f->len = (size_t)length;
        *pos += (size_t)length;
        return 0;
    }
    case T2U_F_KEY_UPDATE:
    case T2U_F_KEY_UPDATE_RESPONSE:
        GET(f->a);
        if (len - *pos < 32) return -1;
        f->data = p + *pos;
        f->len = 32;
        *pos += 32;
        return 0;
    default:
        return -1; /* unknown (every defined type is one byte below 0x40) */
    }
}
