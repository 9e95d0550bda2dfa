/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The client's side of a 1-RTT packet for tests and fuzzers: header (type with the key phase,
 * flags 0, the device's CID, the full packet number) and the frames sealed with `keys`. */
#ifndef T2U_TEST_CLIENT_PACKET_H
#define T2U_TEST_CLIENT_PACKET_H

#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "transport.h"

/* Writes the packet into `out` (room for 18 + n + 16 bytes); returns its length. */
static inline size_t t2u_test_client_packet(uint8_t *out, const t2u_phase_keys *keys, int phase, uint64_t cid,
                                            uint64_t pn, const uint8_t *frames, size_t n) {
    uint8_t nonce[12];
    out[0] = (uint8_t)(0x04 | phase);
    out[1] = 0;
    t2u_wbe64(out + 2, cid);
    t2u_wbe64(out + 10, pn);
    memcpy(nonce, keys->iv, 12);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= (uint8_t)(pn >> (56 - 8 * i));
    t2u_aead_seal(out + 18, keys->key, nonce, out, 18, frames, n);
    return 18 + n + 16;
}

#endif
