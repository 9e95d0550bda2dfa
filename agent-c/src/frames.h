/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* 1-RTT frames (docs/protocol/transport.md §5) and QUIC varints: one decoder (bounds-checked,
 * every length validated) and the writers the device needs. */
#ifndef T2U_FRAMES_H
#define T2U_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define T2U_MAX_ACK_RANGES 256
#define T2U_VARINT_MAX ((1ull << 62) - 1)

enum t2u_frame_type {
    T2U_F_PADDING = 0x00, T2U_F_PING = 0x01, T2U_F_ACK = 0x02, T2U_F_RESET_STREAM = 0x04, T2U_F_STREAM = 0x08,
    T2U_F_STREAM_FIN = 0x09, T2U_F_MAX_DATA = 0x10, T2U_F_MAX_STREAM_DATA = 0x11, T2U_F_MAX_STREAMS = 0x12,
    T2U_F_DATA_BLOCKED = 0x14, T2U_F_STREAM_DATA_BLOCKED = 0x15, T2U_F_PATH_CHALLENGE = 0x1a,
    T2U_F_PATH_RESPONSE = 0x1b, T2U_F_CLOSE = 0x1c, T2U_F_KEY_UPDATE = 0x1e, T2U_F_KEY_UPDATE_RESPONSE = 0x1f
};

typedef struct {
    uint8_t type;
    uint64_t a, b, c;              /* ids, offsets, maxima, error codes, sequence, path data */
    const uint8_t *data;           /* STREAM data, CLOSE reason, KEY_UPDATE key (32) */
    size_t len;
    /* ACK: largest = a, delay = b; ranges [lo, hi] highest first */
    uint64_t ack_lo[T2U_MAX_ACK_RANGES], ack_hi[T2U_MAX_ACK_RANGES];
    size_t nranges;
} t2u_frame;

/* Decodes one frame at *pos; 0 and *pos advanced, or -1 (malformed: the packet's frames are dropped). */
int t2u_frame_decode(const uint8_t *p, size_t len, size_t *pos, t2u_frame *f);
int t2u_frame_ack_eliciting(uint8_t type);

size_t t2u_varint_len(uint64_t v);
/* Writes at p (room checked by the caller with t2u_varint_len); returns bytes written. */
size_t t2u_varint_put(uint8_t *p, uint64_t v);
/* Reads; -1 if short. */
int t2u_varint_get(const uint8_t *p, size_t len, size_t *pos, uint64_t *v);

#endif
