/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The 1-RTT connection against a client written here from docs/protocol/transport.md: STREAM
 * reassembly and ACKs, retransmission after a loss, flow-control credit, a KEY_UPDATE exchange
 * with the client's flip to the next key phase, and malformed frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "frames.h"
#include "transport.h"

#include "check.h"
#include "client_packet.h"

static t2u_conn conn;
static t2u_phase_keys client_send, client_recv; /* the client's view */
static int client_phase;
static uint64_t client_pn;

/* A client packet with `frames` to the device's CID 7. */
static size_t client_packet(uint8_t *out, const uint8_t *frames, size_t n) {
    return t2u_test_client_packet(out, &client_send, client_phase, 7, client_pn++, frames, n);
}

/* Opens a device packet with the client's receive keys; returns the frames' length or -1. */
static int client_open(const uint8_t *d, size_t len, uint8_t *plain) {
    uint8_t nonce[12];
    if (len < 34 || (d[0] & 1) != client_phase) return -1;
    uint64_t pn = t2u_be64(d + 10);
    memcpy(nonce, client_recv.iv, 12);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= (uint8_t)(pn >> (56 - 8 * i));
    if (t2u_aead_open(plain, client_recv.key, nonce, d, 18, d + 18, len - 18) != 0) return -1;
    return (int)(len - 34);
}

/* Finds a frame of `type` in a device packet's frames. */
static int find_frame(const uint8_t *p, size_t n, uint8_t type, t2u_frame *out) {
    size_t pos = 0;
    while (pos < n) {
        if (t2u_frame_decode(p, n, &pos, out) != 0) return 0;
        if (out->type == type) return 1;
    }
    return 0;
}

/* Puts back a snapshot taken before a probe that closed the connection, freeing the buffers of
 * streams the probe opened (the snapshot does not know them). */
static void restore_conn(const t2u_conn *snapshot) {
    for (int i = 0; i < T2U_MAX_STREAMS; i++) {
        t2u_stream *st = &conn.streams[i];
        if (st->live && (!snapshot->streams[i].live || snapshot->streams[i].recv.buf != st->recv.buf)) {
            free(st->recv.buf);
            free(st->send.buf);
        }
    }
    memcpy(&conn, snapshot, sizeof conn);
}

int main(void) {
    if (t2u_crypto_init() != 0) return 1;
    t2u_hs_session s;
    memset(&s, 0, sizeof s);
    s.peer_cid = 99;
    for (int i = 0; i < 32; i++) s.recv_secret[i] = (uint8_t)i, s.send_secret[i] = (uint8_t)(100 + i);
    uint8_t params[] = {1, 0x80, 0x10, 0, 0, 0x80, 0x04, 0, 0, 0x44, 0, 0x80, 0, 0xea, 0x60}; /* 1 MiB, 256 KiB, 1024, 60 s */
    memcpy(s.peer_params, params, sizeof params);
    s.peer_params_len = sizeof params;
    t2u_addr peer = {.family = 4, .ip = {127, 0, 0, 1}, .port = 5000};
    CHECK(t2u_conn_init(&conn, &s, 7, &peer, 1000) == 0);
    CHECK(conn.peer_max_data == 1048576 && conn.peer_stream_window == 262144 && conn.peer_max_streams == 1024);
    t2u_phase_keys_derive(&client_send, s.recv_secret);
    t2u_phase_keys_derive(&client_recv, s.send_secret);

    uint8_t frames[1400], pkt[1500], out[2048], plain[2048];
    t2u_addr to;
    size_t n;
    uint64_t now = 1000;
    /* STREAM 0 in two pieces, the second first: reassembled; the device ACKs both packets. */
    n = 0;
    frames[n++] = T2U_F_STREAM;
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, 5);
    n += t2u_varint_put(frames + n, 5);
    memcpy(frames + n, "world", 5);
    n += 5;
    size_t pn1 = client_packet(pkt, frames, n);
    t2u_conn_receive(&conn, pkt, pn1, &peer, now);
    n = 0;
    frames[n++] = T2U_F_STREAM;
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, 5);
    memcpy(frames + n, "hello", 5);
    n += 5;
    size_t pn0 = client_packet(pkt, frames, n);
    t2u_conn_receive(&conn, pkt, pn0, &peer, now);
    t2u_stream *st = &conn.streams[0];
    const uint8_t *p1, *p2;
    size_t n1, n2;
    CHECK(st->live && st->id == 0 && t2u_recv_ready(&st->recv, &p1, &n1, &p2, &n2) == 10 && memcmp(p1, "helloworld", 10) == 0);
    size_t sent = t2u_conn_poll_transmit(&conn, now, out, sizeof out, &to);
    int m = client_open(out, sent, plain);
    t2u_frame f;
    CHECK(m > 0 && find_frame(plain, (size_t)m, T2U_F_ACK, &f) && f.a == 1 && f.nranges == 1 && f.ack_lo[0] == 0);
    CHECK(t2u_be64(out + 2) == 99); /* to the client's CID */
    /* A replayed packet is dropped (no second delivery). */
    t2u_conn_receive(&conn, pkt, pn0, &peer, now);
    CHECK(t2u_recv_ready(&st->recv, &p1, &n1, &p2, &n2) == 10);

    /* The device sends stream data; the client loses it; the device sends it again after 3 later packets are acked. */
    uint8_t *space = NULL; /* set when room > 0 (LTO cannot see that) */
    size_t room = t2u_send_space(&st->send, &space);
    CHECK(room >= 4000);
    memset(space, 'x', 4000);
    t2u_send_wrote(&st->send, 4000);
    uint64_t sent_pns[8];
    int k = 0;
    while ((sent = t2u_conn_poll_transmit(&conn, now, out, sizeof out, &to)) > 0 && k < 8) sent_pns[k++] = t2u_be64(out + 10);
    CHECK(k == 4); /* 4000 bytes in packets of 1200 */
    /* ACK all but the first data packet. */
    n = 0;
    frames[n++] = T2U_F_ACK;
    n += t2u_varint_put(frames + n, sent_pns[3]);
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, sent_pns[3] - sent_pns[1]);
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &peer, now + 20);
    CHECK(conn.has_rtt && conn.latest_rtt == 20);
    sent = t2u_conn_poll_transmit(&conn, now + 20, out, sizeof out, &to);
    m = client_open(out, sent, plain);
    CHECK(m > 0 && find_frame(plain, (size_t)m, T2U_F_STREAM, &f) && f.b == 0); /* offset 0 again */

    /* Flow control: the client may not send beyond the 128 KiB stream window. */
    n = 0;
    frames[n++] = T2U_F_STREAM;
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, T2U_STREAM_WINDOW);
    n += t2u_varint_put(frames + n, 1);
    frames[n++] = 'z';
    t2u_conn receive_copy;
    memcpy(&receive_copy, &conn, sizeof conn);
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &peer, now + 30);
    CHECK(conn.closing == 1);
    restore_conn(&receive_copy);

    /* A reset stream hands back the connection credit of what was never consumed: data past a
     * hole and the part of the final size never sent. Three such streams give back more than
     * half the window: MAX_DATA goes out. A final size below what arrived is a violation. */
    memcpy(&receive_copy, &conn, sizeof conn);
    uint64_t consumed0 = conn.consumed_bytes, received0 = conn.received_bytes;
    for (uint64_t id = 4; id <= 12; id += 4) {
        n = 0;
        frames[n++] = T2U_F_STREAM;
        n += t2u_varint_put(frames + n, id);
        n += t2u_varint_put(frames + n, 100000);
        n += t2u_varint_put(frames + n, 1);
        frames[n++] = 'h';
        frames[n++] = T2U_F_RESET_STREAM;
        n += t2u_varint_put(frames + n, id);
        n += t2u_varint_put(frames + n, 0);
        n += t2u_varint_put(frames + n, 200000);
        t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &peer, now + 31);
        CHECK(conn.closing == 0);
    }
    CHECK(conn.received_bytes == received0 + 600000 && conn.consumed_bytes == consumed0 + 600000);
    CHECK((conn.ctl_pending & T2U_CTL_MAX_DATA) && conn.max_data_granted == conn.consumed_bytes + T2U_CONN_WINDOW);
    n = 0;
    frames[n++] = T2U_F_STREAM;
    n += t2u_varint_put(frames + n, 16);
    n += t2u_varint_put(frames + n, 5000);
    n += t2u_varint_put(frames + n, 1);
    frames[n++] = 'h';
    frames[n++] = T2U_F_RESET_STREAM;
    n += t2u_varint_put(frames + n, 16);
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, 4000);
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &peer, now + 32);
    CHECK(conn.closing == 1);
    restore_conn(&receive_copy);

    /* KEY_UPDATE: the device answers with its key; the client mixes X25519 and flips; the device
     * opens the next phase and sends in it, keys from the same secret. */
    uint8_t ei_priv[32], ei_pub[32], shared[32];
    t2u_x25519_keypair(ei_priv, ei_pub);
    n = 0;
    frames[n++] = T2U_F_KEY_UPDATE;
    n += t2u_varint_put(frames + n, 1);
    memcpy(frames + n, ei_pub, 32);
    n += 32;
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &peer, now + 40);
    int got_response = 0;
    uint8_t er[32];
    while ((sent = t2u_conn_poll_transmit(&conn, now + 40, out, sizeof out, &to)) > 0) {
        m = client_open(out, sent, plain);
        if (m > 0 && find_frame(plain, (size_t)m, T2U_F_KEY_UPDATE_RESPONSE, &f) && f.a == 1) {
            got_response = 1;
            memcpy(er, f.data, 32);
        }
    }
    CHECK(got_response);
    CHECK(t2u_x25519(shared, ei_priv, er) == 0);
    t2u_phase_keys nk;
    t2u_phase_keys_next(&nk, &client_send, shared);
    client_send = nk;
    t2u_phase_keys_next(&nk, &client_recv, shared);
    client_recv = nk;
    client_phase = 1;
    frames[0] = T2U_F_PING;
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, 1), &peer, now + 50);
    CHECK(conn.key_phase == 1);
    conn.ack_due_ms = 0;
    sent = t2u_conn_poll_transmit(&conn, now + 50, out, sizeof out, &to);
    CHECK(sent > 0 && out[0] == 0x05 && client_open(out, sent, plain) > 0);

    /* Malformed frames close the connection (no crash): unknown type, truncated STREAM. */
    uint8_t bad[][4] = {{0x3f}, {T2U_F_STREAM, 0, 0, 9}};
    for (int i = 0; i < 2; i++) {
        memcpy(&receive_copy, &conn, sizeof conn);
        t2u_conn_receive(&conn, pkt, client_packet(pkt, bad[i], 4), &peer, now + 60);
        CHECK(conn.closing == 1);
        restore_conn(&receive_copy);
    }
    /* Migration (the client moves relay <-> direct): a non-probing packet from a new address
     * moves the device there at once, but it sends no more than 3x what it received from there
     * until the address answers its PATH_CHALLENGE; a probe alone moves nothing; an address that
     * never answers is abandoned for the last validated one. */
    t2u_addr relay = {.family = 4, .ip = {198, 51, 100, 1}, .port = 7000};
    t2u_addr prober = {.family = 4, .ip = {192, 0, 2, 9}, .port = 7001};
    t2u_addr spoofed = {.family = 4, .ip = {203, 0, 113, 50}, .port = 9};
    now = 2000;
    room = t2u_send_space(&st->send, &space);
    CHECK(room >= 60000);
    memset(space, 'y', 60000);
    t2u_send_wrote(&st->send, 60000);
    while (t2u_conn_poll_transmit(&conn, now, out, sizeof out, &to) > 0) {} /* what the window allows now */
    memset(frames, 0, 1200 - 34);
    n = 0; /* everything sent so far acknowledged, PING, then PADDING: a full-size packet */
    frames[n++] = T2U_F_ACK;
    n += t2u_varint_put(frames + n, conn.next_pn - 1);
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, 0);
    n += t2u_varint_put(frames + n, conn.next_pn - 1);
    frames[n++] = T2U_F_PING;
    size_t big = client_packet(pkt, frames, 1200 - 34);
    CHECK(big == 1200);
    t2u_conn_receive(&conn, pkt, big, &relay, now);
    CHECK(t2u_addr_equal(&conn.peer, &relay) && conn.amp_active && conn.pv_active);
    uint64_t to_relay = 0, challenge = 0;
    int challenges = 0, data_packets = 0;
    while ((sent = t2u_conn_poll_transmit(&conn, now, out, sizeof out, &to)) > 0) {
        CHECK(t2u_addr_equal(&to, &relay));
        to_relay += sent;
        m = client_open(out, sent, plain);
        if (m > 0 && find_frame(plain, (size_t)m, T2U_F_PATH_CHALLENGE, &f)) challenges++, challenge = f.a;
        else data_packets++;
    }
    CHECK(challenges == 1 && data_packets == 2);
    CHECK(to_relay <= 3 * 1200);
    CHECK(t2u_conn_next_deadline(&conn) > now); /* blocked: no busy loop */
    /* Someone probes from a third address: answered there, nothing moves. */
    n = 0;
    frames[n++] = T2U_F_PATH_CHALLENGE;
    for (int i = 0; i < 8; i++) frames[n++] = (uint8_t)(0xA0 + i);
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &prober, now + 1);
    CHECK(t2u_addr_equal(&conn.peer, &relay));
    sent = t2u_conn_poll_transmit(&conn, now + 1, out, sizeof out, &to);
    m = client_open(out, sent, plain);
    CHECK(sent > 0 && t2u_addr_equal(&to, &prober) && m > 0 && find_frame(plain, (size_t)m, T2U_F_PATH_RESPONSE, &f) &&
          f.a == 0xA0A1A2A3A4A5A6A7ull);
    CHECK(t2u_conn_poll_transmit(&conn, now + 1, out, sizeof out, &to) == 0); /* still blocked */
    /* A wrong answer does not validate; the right one from the relay does, and data flows. */
    n = 0;
    frames[n++] = T2U_F_PATH_RESPONSE;
    for (int i = 0; i < 8; i++) frames[n++] = (uint8_t)((challenge ^ 1) >> (56 - 8 * i));
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &relay, now + 2);
    CHECK(conn.amp_active && conn.pv_active);
    n = 0;
    frames[n++] = T2U_F_PATH_RESPONSE;
    for (int i = 0; i < 8; i++) frames[n++] = (uint8_t)(challenge >> (56 - 8 * i));
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, n), &relay, now + 2);
    CHECK(!conn.amp_active && !conn.pv_active && t2u_addr_equal(&conn.validated, &relay));
    to_relay = 0;
    while ((sent = t2u_conn_poll_transmit(&conn, now + 2, out, sizeof out, &to)) > 0) to_relay += sent;
    CHECK(to_relay > 3 * 1200);
    /* A spoofed source (non-probing, authenticated: a replayed copy would be refused) never
     * answers: after the validation deadline the device returns to the relay. */
    frames[0] = T2U_F_PING;
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, 1), &spoofed, now + 3);
    CHECK(t2u_addr_equal(&conn.peer, &spoofed) && conn.pv_active);
    sent = t2u_conn_poll_transmit(&conn, now + 3, out, sizeof out, &to);
    CHECK(sent > 0 && sent <= 3 * 35 && t2u_addr_equal(&to, &spoofed)); /* the challenge only */
    CHECK(t2u_conn_poll_transmit(&conn, now + 3, out, sizeof out, &to) == 0);
    uint64_t expiry = conn.pv_deadline;
    CHECK(expiry >= now + 3 + 1000 && t2u_conn_next_deadline(&conn) <= expiry);
    t2u_conn_handle_timeout(&conn, expiry);
    CHECK(!conn.pv_active && t2u_addr_equal(&conn.peer, &relay) && !conn.amp_active);
    /* A packet from the validated address again moves back without a new challenge. */
    frames[0] = T2U_F_PING;
    t2u_conn_receive(&conn, pkt, client_packet(pkt, frames, 1), &relay, expiry + 1);
    CHECK(t2u_addr_equal(&conn.peer, &relay) && !conn.pv_active && !conn.amp_active);

    /* Frame decoder: every truncation of a valid ACK with ranges fails cleanly. */
    uint8_t ack[] = {T2U_F_ACK, 20, 0, 2, 1, 3, 2, 1, 0};
    size_t pos = 0;
    CHECK(t2u_frame_decode(ack, sizeof ack, &pos, &f) == 0 && f.nranges == 3 && f.ack_hi[1] == 14 && f.ack_lo[2] == 9);
    for (size_t cut = 0; cut < sizeof ack; cut++) {
        pos = 0;
        CHECK(t2u_frame_decode(ack, cut, &pos, &f) == -1);
    }
    t2u_conn_free(&conn);

    printf("test_transport: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
