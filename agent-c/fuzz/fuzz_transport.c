/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: the input is sealed as the frames of a client packet and fed to a connection (every
 * frame handler, stream reassembly, ACK processing), then the connection transmits. Also the
 * frame decoder and the stream target header on the raw input. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "forward.h"
#include "../tests/client_packet.h"
#include "frames.h"
#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static t2u_hs_session s;
    static t2u_phase_keys client;
    static int ready;
    if (!ready) {
        t2u_crypto_init();
        s.peer_cid = 1;
        uint8_t params[] = {1, 0x80, 0x10, 0, 0, 0x80, 0x04, 0, 0, 0x44, 0, 0x80, 0, 0xea, 0x60};
        memcpy(s.peer_params, params, sizeof params);
        s.peer_params_len = sizeof params;
        for (int i = 0; i < 32; i++) s.recv_secret[i] = (uint8_t)i;
        t2u_phase_keys_derive(&client, s.recv_secret);
        ready = 1;
    }
    size_t pos = 0;
    t2u_frame f;
    while (pos < size && t2u_frame_decode(data, size, &pos, &f) == 0) {}
    size_t need;
    int family;
    uint8_t ip[16];
    uint16_t port;
    (void)t2u_target_parse(data, size, &need, &family, ip, &port);

    if (size > 1300) return 0;
    t2u_conn *c = malloc(sizeof *c);
    t2u_addr peer = {.family = 4, .ip = {127, 0, 0, 1}, .port = 5};
    if (!c || t2u_conn_init(c, &s, 2, &peer, 0) != 0) {
        free(c);
        return 0;
    }
    /* Two packets: the input, then the input again with the next packet number (duplicates). */
    for (uint64_t pn = 0; pn < 2; pn++) {
        uint8_t pkt[1400];
        size_t len = t2u_test_client_packet(pkt, &client, 0, 2, pn, data, size);
        t2u_conn_receive(c, pkt, len, &peer, 10 + pn);
    }
    uint8_t out[2048];
    t2u_addr to;
    for (int i = 0; i < 64 && t2u_conn_poll_transmit(c, 20, out, sizeof out, &to) > 0; i++) {}
    t2u_conn_handle_timeout(c, 100000);
    t2u_conn_collect(c, NULL);
    t2u_conn_free(c);
    free(c);
    return 0;
}
