/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: a datagram from the server's address into the signaling parser, the REGISTERED
 * payload parser and the sans-IO client (in each phase). */
#include <string.h>

#include "codec.h"
#include "discovery.h"
#include "crypto.h"
#include "signaling.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    static t2u_sig_config c;
    if (!ready) {
        t2u_crypto_init();
        c.uuid = "FUZZ";
        t2u_x25519_keypair(c.identity_priv, c.identity_pub);
        c.servers[0] = (t2u_addr){.family = 4, .ip = {127, 0, 0, 1}, .port = 7000};
        c.nservers = 1;
        c.classifies_nat = 1;
        ready = 1;
    }
    t2u_sig_msg m;
    (void)t2u_sig_parse(data, size, &m, NULL);
    static t2u_discovery disc = {.uuid = "FUZZ", .nsubnets = 1, .addr = {0x7F000001}, .mask = {0xFF000000}, .subnets_read_ms = 1};
    static const t2u_addr src4 = {.family = 4, .ip = {127, 0, 0, 2}}, src6 = {.family = 6, .ip = {0xFE, 0x80, [15] = 2}};
    uint8_t reply[128];
    disc.subnets_read_ms = 1; /* never refreshed from the host */
    (void)t2u_discovery_decide(&disc, data, size, &src4, 0, NULL, 2, reply, sizeof reply);
    (void)t2u_discovery_decide(&disc, data, size, &src6, 1, NULL, 2, reply, sizeof reply);
    uint64_t token;
    uint16_t keepalive;
    t2u_addr observed;
    (void)t2u_parse_registered(data, size, &token, &keepalive, &observed);
    t2u_sig s;
    char err[64];
    uint8_t out[1500];
    t2u_addr to;
    if (t2u_sig_init(&s, &c, 0, err, sizeof err) != 0) return 0;
    /* HELLO phase, then a registered phase with a made-up channel. */
    (void)t2u_sig_poll_transmit(&s, 0, out, sizeof out, &to);
    t2u_sig_receive(&s, data, size, &c.servers[0], 1);
    s.phase = T2U_PHASE_REGISTERED;
    s.token = size >= 9 ? t2u_be64(data + 1) : 0;
    t2u_sig_receive(&s, data, size, &c.servers[0], 2);
    while (t2u_sig_poll_transmit(&s, 3, out, sizeof out, &to) > 0) {}
    return 0;
}
