/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Handshake responder against an initiation captured from the Swift client (tests/vectors/
 * swift-initiation.txt): password accepted / rejected / not required, mac1, replay, cookie. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "handshake.h"
#include "keyfile.h"

#include "check.h"

static t2u_hs_responder r; /* large: static */

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "tests/vectors/swift-initiation.txt";
    if (t2u_crypto_init() != 0) return 1;
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    char line[2048], password[64] = "";
    uint8_t key[32], init[T2U_INITIATION_LEN];
    size_t init_len = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "key ", 4) == 0) CHECK(t2u_hex_key(line + 4, key) == 0);
        if (strncmp(line, "password ", 9) == 0) { strncpy(password, line + 9, sizeof password - 1); password[sizeof password - 1] = 0; }
        if (strncmp(line, "initiation ", 11) == 0)
            for (const char *h = line + 11; h[0] && h[1] && init_len < sizeof init; h += 2) {
                unsigned v;
                sscanf(h, "%2x", &v);
                init[init_len++] = (uint8_t)v;
            }
    }
    fclose(f);
    CHECK(init_len == T2U_INITIATION_LEN);
    t2u_addr from = {.family = 4, .ip = {127, 0, 0, 1}, .port = 50531};
    uint8_t reply[T2U_RESPONSE_MIN + T2U_HS_MAX_PAYLOAD], params[5] = {1, 2, 3, 4, 5};
    size_t rlen;
    t2u_hs_session s;

    /* The right password: HANDSHAKE_RESPONSE with the password flag, the client's parameters. */
    t2u_hs_init(&r, key, password, 1000, 200);
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 77, params, 5, reply, &rlen, &s) == T2U_HS_ACCEPTED);
    CHECK(rlen == 66 + 5 && reply[0] == 0x02 && reply[17] == 1 && t2u_be64(reply + 9) == 77);
    CHECK(memcmp(reply + 1, init + 1, 8) == 0 && s.peer_cid == t2u_be64(init + 1));
    CHECK(s.peer_params_len > 0 && s.peer_params[0] == 1); /* TransportParameters version 1 */
    CHECK(memcmp(s.send_secret, s.recv_secret, 32) != 0);
    /* The same initiation again (a replay; the agent answers real retransmissions from its cache). */
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1001, 78, params, 5, reply, &rlen, &s) == T2U_HS_DROP);
    CHECK(r.replayed == 1 && rlen == 0);

    /* A wrong device password: HANDSHAKE_REJECTION (66 bytes). */
    t2u_hs_init(&r, key, "bad", 1000, 200);
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 79, params, 5, reply, &rlen, &s) == T2U_HS_REJECTED);
    CHECK(rlen == T2U_REJECTION_LEN && reply[0] == 0x03);

    /* No device password: accepted, flag clear (the client ends such an attempt: passwordNotProven). */
    t2u_hs_init(&r, key, NULL, 1000, 200);
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 80, params, 5, reply, &rlen, &s) == T2U_HS_ACCEPTED);
    CHECK(reply[17] == 0);

    /* mac1 wrong, another device key, wrong length: dropped with no reply, before any DH. */
    t2u_hs_init(&r, key, password, 1000, 200);
    init[T2U_INIT_MAC1_OFF] ^= 1;
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 81, params, 5, reply, &rlen, &s) == T2U_HS_DROP && rlen == 0);
    CHECK(r.failing_mac1 == 1);
    init[T2U_INIT_MAC1_OFF] ^= 1;
    CHECK(t2u_hs_respond(&r, init, init_len - 1, &from, 1000, 81, params, 5, reply, &rlen, &s) == T2U_HS_DROP);
    uint8_t other[32];
    memcpy(other, key, 32);
    other[0] ^= 0x40;
    t2u_hs_init(&r, other, password, 1000, 200);
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 81, params, 5, reply, &rlen, &s) == T2U_HS_DROP && r.failing_mac1 == 1);

    /* Under load (the unproven bucket empty): COOKIE_REPLY, which opens with the cookie key and mac1. */
    t2u_hs_init(&r, key, password, 1000, 2); /* unproven: 1/s, burst 1 */
    r.unproven.tokens = 0;
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 82, params, 5, reply, &rlen, &s) == T2U_HS_COOKIE);
    CHECK(rlen == T2U_COOKIE_REPLY_LEN && reply[0] == 0x06 && memcmp(reply + 1, init + 1, 8) == 0);
    uint8_t cookie[16], want[16];
    CHECK(t2u_aead_open(cookie, r.cookie_key, reply + 9, init + T2U_INIT_MAC1_OFF, 16, reply + 21, 32) == 0);
    t2u_hs_cookie(want, r.cookie_secret, &from);
    CHECK(memcmp(cookie, want, 16) == 0);
    /* With mac2 under that cookie the source is proven: admitted despite the empty unproven bucket. */
    uint8_t mac[32];
    t2u_hmac_sha256(mac, cookie, 16, init, T2U_INIT_MAC2_OFF);
    memcpy(init + T2U_INIT_MAC2_OFF, mac, 16);
    CHECK(t2u_hs_respond(&r, init, init_len, &from, 1000, 83, params, 5, reply, &rlen, &s) == T2U_HS_ACCEPTED);
    /* ... but not from another address (the cookie is per source). */
    t2u_addr elsewhere = from;
    elsewhere.port++;
    r.unproven.tokens = 0;
    CHECK(t2u_hs_respond(&r, init, init_len, &elsewhere, 1000, 84, params, 5, reply, &rlen, &s) == T2U_HS_COOKIE);

    /* Replay guard: newer accepted; up to 10 s older accepted once; older refused; floor after 16. */
    uint8_t k[32] = {9};
    t2u_hs_init(&r, key, NULL, 0, 200);
    uint64_t base = (1ull << 62) + 1700000000ull;
    CHECK(t2u_hs_replay_accept(&r, k, base, 500));
    CHECK(t2u_hs_replay_accept(&r, k, base, 501));
    CHECK(t2u_hs_replay_accept(&r, k, base - 5, 0));
    CHECK(!t2u_hs_replay_accept(&r, k, base - 5, 0));
    CHECK(!t2u_hs_replay_accept(&r, k, base - 11, 0));
    for (uint32_t i = 0; i < 20; i++) CHECK(t2u_hs_replay_accept(&r, k, base + 1, i));
    CHECK(!t2u_hs_replay_accept(&r, k, base - 4, 0)); /* below the floor now */

    /* Every truncation of the captured initiation is refused without a crash. */
    t2u_hs_init(&r, key, password, 1000, 200);
    for (size_t cut = 0; cut < init_len; cut++)
        CHECK(t2u_hs_respond(&r, init, cut, &from, 1000, 85, params, 5, reply, &rlen, &s) == T2U_HS_DROP);
    printf("test_handshake: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
