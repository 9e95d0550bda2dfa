/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: initiation-shaped datagrams into the handshake responder; mac1 is made valid for
 * half the inputs so the DH, decryption and payload checks are reached. */
#include <string.h>

#include "crypto.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static t2u_hs_responder r;
    static int ready;
    if (!ready) {
        uint8_t key[32] = {1, 2, 3};
        t2u_crypto_init();
        t2u_hs_init(&r, key, "pw", 0, 1e9);
        ready = 1;
    }
    uint8_t d[T2U_INITIATION_LEN], reply[T2U_RESPONSE_MIN + T2U_HS_MAX_PAYLOAD], params[1] = {1};
    size_t n = size < sizeof d ? size : sizeof d, rlen;
    memcpy(d, data, n);
    t2u_addr from = {.family = 4, .ip = {127, 0, 0, 1}, .port = 9};
    t2u_hs_session s;
    if (n == T2U_INITIATION_LEN && (d[1] & 1)) {
        uint8_t mac[32];
        d[0] = 0x01;
        t2u_hmac_sha256(mac, r.mac1_key, 32, d, T2U_INIT_MAC1_OFF);
        memcpy(d + T2U_INIT_MAC1_OFF, mac, 16);
    }
    (void)t2u_hs_respond(&r, d, n, &from, 1, 5, params, 1, reply, &rlen, &s);
    return 0;
}
