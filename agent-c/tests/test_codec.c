/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Unit tests: crypto compositions against RFC vectors, the signaling codec against datagrams
 * captured from the Swift client and server, and the sans-IO signaling client against a
 * responder written here from docs/protocol/channel.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "keyfile.h"
#include "log.h"
#include "replay.h"
#include "signaling.h"

#include "check.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
    size_t n = 0;
    while (hex[0] && hex[1] && n < cap) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static int eq_hex(const uint8_t *p, size_t n, const char *hex) {
    uint8_t want[256];
    size_t m = unhex(want, sizeof want, hex);
    return m == n && memcmp(p, want, n) == 0;
}

static void test_crypto_vectors(void) {
    uint8_t out[64];
    /* RFC 4231 test case 2 */
    t2u_hmac_sha256(out, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28);
    CHECK(eq_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    /* RFC 5869 test case 1 */
    uint8_t ikm[22], salt[13], info[10], prk[32];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++) salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
    t2u_hkdf_extract(prk, salt, sizeof salt, ikm, sizeof ikm);
    CHECK(eq_hex(prk, 32, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
    t2u_hkdf_expand(out, 42, prk, info, sizeof info);
    CHECK(eq_hex(out, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
    /* RFC 7748 section 6.1 */
    uint8_t a_priv[32], b_pub[32], a_pub[32], shared[32];
    unhex(a_priv, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    unhex(b_pub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    t2u_x25519_public(a_pub, a_priv);
    CHECK(eq_hex(a_pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
    CHECK(t2u_x25519(shared, a_priv, b_pub) == 0);
    CHECK(eq_hex(shared, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
    uint8_t zero[32] = {0};
    CHECK(t2u_x25519(shared, a_priv, zero) == -1); /* low order: refused */
    /* RFC 8439 section 2.8.2 (first 16 bytes of ciphertext and the tag) */
    uint8_t key[32], nonce[12], ad[12], sealed[114 + 16], opened[114];
    const char *plain = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
                        "sunscreen would be it.";
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x80 + i);
    unhex(nonce, 12, "070000004041424344454647");
    unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
    t2u_aead_seal(sealed, key, nonce, ad, 12, (const uint8_t *)plain, 114);
    CHECK(eq_hex(sealed, 16, "d31a8d34648e60db7b86afbc53ef7ec2"));
    CHECK(eq_hex(sealed + 114, 16, "1ae10b594f09e26a7e902ecbd0600691"));
    CHECK(t2u_aead_open(opened, key, nonce, ad, 12, sealed, sizeof sealed) == 0 && memcmp(opened, plain, 114) == 0);
    sealed[3] ^= 1;
    CHECK(t2u_aead_open(opened, key, nonce, ad, 12, sealed, sizeof sealed) == -1);
}

/* Every datagram the Swift client and server exchanged parses, and every truncation of it either
 * parses or fails cleanly (ASan/UBSan watch the bounds). */
static void test_captured_vectors(const char *path) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[8192];
    int n = 0, challenges = 0;
    uint8_t server_key[32];
    unhex(server_key, 32, "ad3796bc74b295e6c44209fe617d37e1bd6badd7cb16c1ef56d3d545faac993f");
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        uint8_t d[4096];
        size_t len = unhex(d, sizeof d, line + 4);
        t2u_sig_msg m;
        const char *why = NULL;
        CHECK(t2u_sig_parse(d, len, &m, &why) == 0);
        n++;
        switch (m.type) {
        case T2U_HELLO: {
            uint8_t mine[64];
            CHECK(len == 64 && m.role == T2U_ROLE_CLIENT);
            CHECK(t2u_write_hello(mine, sizeof mine, m.request_id, m.role) == 64 && memcmp(mine, d, 64) == 0);
            break;
        }
        case T2U_CHALLENGE:
            CHECK(len == 57);
            challenges += memcmp(m.key, server_key, 32) == 0;
            break;
        case T2U_REGISTER:
            CHECK(m.role == T2U_ROLE_CLIENT && m.enc_len >= 16 && len == 122 + m.enc_len - 16);
            break;
        case T2U_REGISTERED:
            CHECK(len == 37 + m.enc_len);
            break;
        case T2U_SEALED:
            CHECK(m.enc_len == len - 17 && m.enc_len >= 16);
            break;
        default:
            CHECK(0);
        }
        for (size_t cut = 0; cut < len; cut++) {
            t2u_sig_msg t;
            (void)t2u_sig_parse(d, cut, &t, NULL);
        }
    }
    fclose(f);
    CHECK(n == 8);
    CHECK(challenges == 2);
}

static void test_layouts(void) {
    uint8_t out[600];
    t2u_addr a = {.family = 4, .ip = {192, 0, 2, 7}, .port = 7000};
    t2u_nat nat = {3, -2};
    uint8_t rot[64];
    memset(rot, 0xAB, sizeof rot);
    size_t n = t2u_write_registration(out, sizeof out, "CAM", (const uint8_t *)"x", 1, &a, 1, nat, NULL, 0, rot);
    CHECK(n == 87);
    CHECK(eq_hex(out, 23, "0343414d000178010" "4c00002071b5803fffffffe0000" "01"));
    CHECK(out[23] == 0xAB && out[86] == 0xAB);
    n = t2u_write_registration(out, sizeof out, "CAM", NULL, 0, NULL, 0, (t2u_nat){2, 5}, NULL, 0, NULL);
    CHECK(n == 4 + 2 + 1 + 5 + 2 + 1 && eq_hex(out, n, "0343414d0000000200000000000000"));
    n = t2u_write_keepalive(out, sizeof out, 0x01020304, 0x1122334455667788ull, (t2u_nat){1, 0});
    CHECK(eq_hex(out, n, "25010203041122334455667788" "0100000000"));
    n = t2u_write_introduce_ack(out, sizeof out, 7, 9, 10);
    CHECK(eq_hex(out, n, "2c00000007" "0000000000000009" "000000000000000a"));
    n = t2u_write_probe(out, sizeof out, 5);
    CHECK(n == 64 && out[0] == 0x2d && out[4] == 5 && out[63] == 0);
    n = t2u_write_search_reply(out, sizeof out, 3, "CAM", &a);
    CHECK(eq_hex(out, n, "30000000030343414d04c00002071b58"));
    CHECK(t2u_write_hello(out, 10, 1, 1) == 0); /* too small: nothing */

    uint64_t token;
    uint16_t keepalive;
    t2u_addr observed;
    uint8_t reg[] = {0, 0, 0, 0, 0, 0, 0, 42, 0, 20, 4, 198, 51, 100, 9, 0x1b, 0x58};
    CHECK(t2u_parse_registered(reg, sizeof reg, &token, &keepalive, &observed) == 0);
    CHECK(token == 42 && keepalive == 20 && observed.ip[0] == 198 && observed.port == 7000);
    CHECK(t2u_parse_registered(reg, sizeof reg - 1, &token, &keepalive, &observed) == -1);
    uint8_t longer[sizeof reg + 1] = {0};
    memcpy(longer, reg, sizeof reg);
    CHECK(t2u_parse_registered(longer, sizeof longer, &token, &keepalive, &observed) == -1); /* strict */

    /* Parser rules: unknown type, bad role, bad UUID, too many candidates, bad bool. */
    t2u_sig_msg m;
    const char *why = NULL;
    uint8_t bad_type[] = {0x19, 0, 0, 0, 1};
    CHECK(t2u_sig_parse(bad_type, sizeof bad_type, &m, &why) == -1);
    uint8_t bad_role[] = {0x20, 0, 0, 0, 1, 3};
    CHECK(t2u_sig_parse(bad_role, sizeof bad_role, &m, &why) == -1 && strcmp(why, "role") == 0);
    uint8_t search_all[96] = {0x2f, 0, 0, 0, 1, 0};
    CHECK(t2u_sig_parse(search_all, sizeof search_all, &m, &why) == 0 && m.uuid == NULL);
    uint8_t search_space[96] = {0x2f, 0, 0, 0, 1, 2, 'A', ' '};
    CHECK(t2u_sig_parse(search_space, sizeof search_space, &m, &why) == -1 && strcmp(why, "uuid") == 0);
    uint8_t intro[] = {0x2b, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 2, 4, 1, 2, 3, 4, 0, 1, 0};
    CHECK(t2u_sig_parse(intro, sizeof intro, &m, &why) == -1 && strcmp(why, "relay allowed") == 0);
    intro[21] = 1;
    CHECK(t2u_sig_parse(intro, sizeof intro, &m, &why) == 0 && m.session_id == 5 && m.cid == 6 && m.relay_allowed == 1);
    uint8_t many[] = {0x2b, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 1, 4, 1, 2, 3, 4, 0, 1, 9};
    CHECK(t2u_sig_parse(many, sizeof many, &m, &why) == -1 && strcmp(why, "candidates") == 0);
    uint8_t sealed_short[17 + 15] = {0x33};
    CHECK(t2u_sig_parse(sealed_short, sizeof sealed_short, &m, &why) == -1);
    uint8_t uuid_ok[] = "CAM-0001";
    CHECK(t2u_uuid_valid(uuid_ok, 8) && !t2u_uuid_valid(uuid_ok, 0));
}

static void test_replay(void) {
    t2u_replay w;
    t2u_replay_init(&w);
    CHECK(t2u_replay_fresh(&w, 0));
    t2u_replay_mark(&w, 0);
    CHECK(!t2u_replay_fresh(&w, 0) && t2u_replay_fresh(&w, 1));
    t2u_replay_mark(&w, 100);
    CHECK(t2u_replay_fresh(&w, 50) && !t2u_replay_fresh(&w, 100));
    t2u_replay_mark(&w, 50);
    CHECK(!t2u_replay_fresh(&w, 50));
    t2u_replay_mark(&w, 100 + T2U_REPLAY_SIZE);
    CHECK(!t2u_replay_fresh(&w, 100) && t2u_replay_fresh(&w, 101) && !t2u_replay_fresh(&w, 50));
    t2u_replay_mark(&w, 1000000);
    CHECK(t2u_replay_fresh(&w, 999999) && !t2u_replay_fresh(&w, 1000000 - T2U_REPLAY_SIZE));
}

/* --- a server written from docs/protocol/channel.md, to drive the client ------------------ */

static const char ik_name[] = "t2u signaling IK X25519 ChaChaPoly SHA256 v2";

typedef struct {
    uint8_t priv[32], pub[32], k1[32], k2[32], agent_static[32];
    uint64_t token, send_counter;
} test_server;

/* Opens REGISTER and answers REGISTERED (token, keepalive 20, observed). Returns its length. */
static size_t server_register(test_server *srv, const uint8_t *d, size_t len, uint8_t *out, char *uuid_out) {
    t2u_sig_msg m;
    if (t2u_sig_parse(d, len, &m, NULL) != 0 || m.type != T2U_REGISTER) return 0;
    t2u_noise n;
    uint8_t dh[32], payload[1500], e_priv[32], e_pub[32];
    t2u_noise_init(&n, ik_name, srv->pub);
    t2u_noise_mix_hash(&n, d, 26);
    t2u_noise_mix_hash(&n, m.key, 32);
    if (t2u_x25519(dh, srv->priv, m.key)) return 0;
    t2u_noise_mix_key(&n, dh, 32);
    if (t2u_noise_decrypt_and_hash(&n, srv->agent_static, m.enc_static, 48)) return 0;
    if (t2u_x25519(dh, srv->priv, srv->agent_static)) return 0;
    t2u_noise_mix_key(&n, dh, 32);
    if (t2u_noise_decrypt_and_hash(&n, payload, m.enc, m.enc_len)) return 0;
    memcpy(uuid_out, payload + 1, payload[0]);
    uuid_out[payload[0]] = 0;
    t2u_x25519_keypair(e_priv, e_pub);
    t2u_noise_mix_hash(&n, e_pub, 32);
    t2u_x25519(dh, e_priv, m.key);
    t2u_noise_mix_key(&n, dh, 32);
    t2u_x25519(dh, e_priv, srv->agent_static);
    t2u_noise_mix_key(&n, dh, 32);
    uint8_t answer[17] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 4, 127, 0, 0, 1, 0x80, 0x00};
    t2u_wbe64(answer, srv->token);
    out[0] = T2U_REGISTERED;
    memcpy(out + 1, d + 1, 4);
    memcpy(out + 5, e_pub, 32);
    t2u_noise_encrypt_and_hash(&n, out + 37, answer, sizeof answer);
    t2u_noise_split(&n, srv->k1, srv->k2);
    return 37 + sizeof answer + 16;
}

static size_t server_seal(test_server *srv, const uint8_t *inner, size_t len, uint8_t *out) {
    uint8_t nonce[12] = {0};
    out[0] = T2U_SEALED;
    t2u_wbe64(out + 1, srv->token);
    t2u_wbe64(out + 9, srv->send_counter);
    t2u_wbe64(nonce + 4, srv->send_counter++);
    t2u_aead_seal(out + 17, srv->k2, nonce, out, 17, inner, len);
    return 17 + len + 16;
}

static int server_open(test_server *srv, const uint8_t *d, size_t len, uint8_t *inner) {
    uint8_t nonce[12] = {0};
    if (len < 33 || d[0] != T2U_SEALED || t2u_be64(d + 1) != srv->token) return -1;
    memcpy(nonce + 4, d + 9, 8);
    return t2u_aead_open(inner, srv->k1, nonce, d, 17, d + 17, len - 17);
}

static void test_signaling_client(void) {
    test_server srv;
    memset(&srv, 0, sizeof srv);
    t2u_x25519_keypair(srv.priv, srv.pub);
    srv.token = 0x0102030405060708ull;
    t2u_sig_config c;
    memset(&c, 0, sizeof c);
    c.uuid = "CAM-T";
    t2u_x25519_keypair(c.identity_priv, c.identity_pub);
    c.pinned = 1;
    memcpy(c.server_key, srv.pub, 32);
    t2u_addr s1 = {.family = 4, .ip = {127, 0, 0, 1}, .port = 7000};
    t2u_addr s2 = {.family = 4, .ip = {127, 0, 0, 1}, .port = 7100};
    c.servers[0] = s1;
    c.servers[1] = s2;
    c.nservers = 2;
    c.classifies_nat = 1;
    t2u_sig s;
    char err[128];
    uint8_t out[1500], reply[1500], inner[1500];
    t2u_addr to;
    t2u_sig_event ev;
    CHECK(t2u_sig_init(&s, &c, 0, err, sizeof err) == 0);

    /* Failover: three unanswered HELLOs to s1, then s2. */
    uint64_t now = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
        CHECK(n == 64 && out[0] == T2U_HELLO && t2u_addr_equal(&to, &s1));
        now = t2u_sig_next_deadline(&s);
    }
    size_t n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
    CHECK(n == 64 && t2u_addr_equal(&to, &s2) && s.failovers == 1);

    /* A CHALLENGE stating another key: refused (pinned), retried slowly. */
    uint8_t challenge[57] = {T2U_CHALLENGE};
    memcpy(challenge + 1, out + 1, 4);
    memset(challenge + 5, 0xC0, 20);
    memset(challenge + 25, 0x11, 32);
    t2u_sig_receive(&s, challenge, sizeof challenge, &s2, now);
    CHECK(s.status == T2U_SIG_KEY_REJECTED && t2u_sig_next_deadline(&s) == now + 8000);

    /* The right key: REGISTER, REGISTERED, registered. */
    now += 8000;
    n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
    CHECK(n == 64 && t2u_addr_equal(&to, &s2));
    memcpy(challenge + 1, out + 1, 4);
    memcpy(challenge + 25, srv.pub, 32);
    t2u_sig_receive(&s, challenge, sizeof challenge, &s1, now); /* not from the current server: ignored */
    CHECK(s.phase == T2U_PHASE_HELLO);
    t2u_sig_receive(&s, challenge, sizeof challenge, &s2, now);
    CHECK(s.phase == T2U_PHASE_REGISTERING);
    n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
    CHECK(n > 122 && out[0] == T2U_REGISTER && out[5] == T2U_ROLE_DEVICE);
    uint8_t again[1500];
    size_t n2 = t2u_sig_poll_transmit(&s, now + 500, again, sizeof again, &to);
    CHECK(n2 == n && memcmp(again, out, n) == 0); /* retransmitted unchanged */
    char uuid[80] = "";
    size_t rn = server_register(&srv, out, n, reply, uuid);
    CHECK(rn > 0 && strcmp(uuid, "CAM-T") == 0 && memcmp(srv.agent_static, c.identity_pub, 32) == 0);
    reply[rn - 1] ^= 1;
    t2u_sig_receive(&s, reply, rn, &s2, now);
    CHECK(s.status != T2U_SIG_REGISTERED); /* tampered: ignored */
    reply[rn - 1] ^= 1;
    t2u_sig_receive(&s, reply, rn, &s2, now);
    CHECK(s.status == T2U_SIG_REGISTERED && s.token == srv.token);
    int saw_registered = 0;
    while (t2u_sig_poll_event(&s, &ev)) saw_registered |= ev.kind == T2U_EV_STATUS && ev.status == T2U_SIG_REGISTERED;
    CHECK(saw_registered);

    /* NAT probe to the observation port. */
    n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
    CHECK(n == 64 && out[0] == T2U_PROBE && to.port == 7101);

    /* Keepalive after 20 s, sealed with k1; the ACK stops it. */
    now += 20000;
    t2u_sig_handle_timeout(&s, now);
    n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
    CHECK(n == 17 + 18 + 16 && server_open(&srv, out, n, inner) == 0 && inner[0] == T2U_KEEPALIVE);
    CHECK(t2u_be64(inner + 5) == srv.token);
    uint8_t ack[12] = {T2U_KEEPALIVE_ACK};
    memcpy(ack + 1, inner + 1, 4);
    ack[5] = 4, ack[6] = 127, ack[9] = 1, ack[10] = 0x80;
    rn = server_seal(&srv, ack, sizeof ack, reply);
    t2u_sig_receive(&s, reply, rn, &s2, now);
    CHECK(s.exchange.next_send_at == T2U_NEVER);

    /* A carrier change (UDP <-> TCP fallback) while idle: a keepalive at once (the server moves
     * our record to the new source only on a sealed message from there); its ACK settles it. */
    t2u_sig_retransmit_now(&s, now + 100);
    CHECK(t2u_sig_next_deadline(&s) == now + 100);
    n = t2u_sig_poll_transmit(&s, now + 100, out, sizeof out, &to);
    CHECK(n == 17 + 18 + 16 && server_open(&srv, out, n, inner) == 0 && inner[0] == T2U_KEEPALIVE);
    memcpy(ack + 1, inner + 1, 4);
    rn = server_seal(&srv, ack, sizeof ack, reply);
    t2u_sig_receive(&s, reply, rn, &s2, now + 100);
    CHECK(s.exchange.next_send_at == T2U_NEVER);

    /* INTRODUCE: acked (sealed), reported once; a replayed copy is dropped. */
    uint8_t intro[] = {T2U_INTRODUCE, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 1, 4, 198, 51, 100, 1, 0x1f, 0x40, 0};
    rn = server_seal(&srv, intro, sizeof intro, reply);
    t2u_sig_receive(&s, reply, rn, &s2, now);
    t2u_sig_receive(&s, reply, rn, &s2, now);
    int intros = 0;
    while (t2u_sig_poll_event(&s, &ev)) intros += ev.kind == T2U_EV_INTRODUCED && ev.session_id == 5 && ev.cid == 6;
    CHECK(intros == 1);
    n = t2u_sig_poll_transmit(&s, now, out, sizeof out, &to);
    CHECK(n > 0 && server_open(&srv, out, n, inner) == 0 && inner[0] == T2U_INTRODUCE_ACK && t2u_be64(inner + 13) == 5);

    /* A bare ERROR other than unknownSession(low 32 bits of the token) is ignored; that one re-registers. */
    uint8_t bare[6] = {T2U_ERROR, 0, 0, 0, 1, T2U_ERR_UNKNOWN_SESSION};
    t2u_sig_receive(&s, bare, sizeof bare, &s2, now);
    CHECK(s.phase == T2U_PHASE_REGISTERED);
    bare[1] = 0x05, bare[2] = 0x06, bare[3] = 0x07, bare[4] = 0x08;
    t2u_sig_receive(&s, bare, sizeof bare, &s2, now);
    CHECK(s.phase == T2U_PHASE_HELLO && s.status == T2U_SIG_CONNECTING);

    /* Rotation proof is HMAC(X25519(old, server), label || len uuid || uuid || new || cookie). */
    uint8_t proof[32], proof2[32], cookie[20] = {1};
    CHECK(t2u_rotation_proof(proof, c.identity_priv, srv.pub, "CAM-T", srv.pub, cookie, 20) == 0);
    CHECK(t2u_rotation_proof(proof2, srv.priv, c.identity_pub, "CAM-T", srv.pub, cookie, 20) == 0);
    CHECK(memcmp(proof, proof2, 32) == 0); /* the server verifies with X25519(server, old public) */
}

static void test_hex_key(void) {
    uint8_t k[32];
    CHECK(t2u_hex_key("  AD3796bc74b295e6c44209fe617d37e1bd6badd7cb16c1ef56d3d545faac993f\n", k) == 0 && k[0] == 0xad);
    CHECK(t2u_hex_key("ad3796bc74b295e6c44209fe617d37e1bd6badd7cb16c1ef56d3d545faac993", k) == -1);
    CHECK(t2u_hex_key("zz3796bc74b295e6c44209fe617d37e1bd6badd7cb16c1ef56d3d545faac993f", k) == -1);
}

/* The examples of docs/protocol/messages.md parse to the fields that page names. */
static void test_documented_examples(void) {
    uint8_t d[128];
    t2u_sig_msg m;
    size_t n = unhex(d, sizeof d, "2501020304112233445566778803fffffffe");
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.type == T2U_KEEPALIVE && m.request_id == 0x01020304);
    CHECK(m.token == 0x1122334455667788ull && m.nat.kind == 3 && m.nat.delta == -2);
    CHECK(t2u_sig_parse(d, 13, &m, NULL) == 0 && m.nat.kind == 0); /* the appended nat absent */
    CHECK(t2u_sig_parse(d, 15, &m, NULL) == -1);                    /* ... or whole */
    n = unhex(d, sizeof d, "260102030404cb0071079c40");
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.type == T2U_KEEPALIVE_ACK && m.addr.family == 4);
    CHECK(m.addr.ip[0] == 203 && m.addr.ip[3] == 7 && m.addr.port == 40000);
    n = unhex(d, sizeof d, "2c0a0b0c0d112233445566778899aabbccddeeff00");
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.type == T2U_INTRODUCE_ACK && m.request_id == 0x0a0b0c0d);
    CHECK(m.token == 0x1122334455667788ull && m.session_id == 0x99aabbccddeeff00ull);
    uint8_t ack[64];
    CHECK(t2u_write_introduce_ack(ack, sizeof ack, 0x0a0b0c0d, 0x1122334455667788ull, 0x99aabbccddeeff00ull) == n &&
          memcmp(ack, d, n) == 0);
    n = unhex(d, sizeof d, "2b0a0b0c0d99aabbccddeeff0001020304050607080104c63364070fa00104c0a801140fa00200000000");
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.type == T2U_INTRODUCE && m.session_id == 0x99aabbccddeeff00ull);
    CHECK(m.cid == 0x0102030405060708ull && m.relay_allowed == 1 && m.addr.ip[0] == 198 && m.addr.port == 4000);
    CHECK(m.ncandidates == 1 && m.candidates[0].ip[0] == 192 && m.candidates[0].ip[3] == 20 && m.nat.kind == 2);
    CHECK(m.punch_delay_ms == 0); /* no punch order: the device punches at once */
    n = unhex(d, sizeof d, "2b0a0b0c0d99aabbccddeeff0001020304050607080104c63364070fa00104c0a801140fa00200000000" "01f4");
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.nat.kind == 2 && m.punch_delay_ms == 500); /* the client first */
    d[n - 2] = 0xff;
    d[n - 1] = 0xff;
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.punch_delay_ms == T2U_MAX_PUNCH_DELAY_MS); /* capped */
    CHECK(t2u_sig_parse(d, n - 1, &m, NULL) == -1);                                           /* cut short */
    /* Offline QUERY_RESULT (11 bytes); RELAY_UNKNOWN; PATH_REPORT's path 1-4 only. */
    n = unhex(d, sizeof d, "280000000100000000000000");
    CHECK(t2u_sig_parse(d, 11, &m, NULL) == 0 && m.online == 0 && !m.has_addr && m.pubkey_len == 0 && m.extra_len == 0);
    n = unhex(d, sizeof d, "32000000000102030405060708");
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.type == T2U_RELAY_UNKNOWN && m.cid == 0x0102030405060708ull);
    n = unhex(d, sizeof d, "310000000100000000000000070000000000000009" "05");
    CHECK(n == 22 && t2u_sig_parse(d, n, &m, NULL) == -1);
    d[21] = 3;
    CHECK(t2u_sig_parse(d, n, &m, NULL) == 0 && m.path == 3 && m.session_id == 9);
    d[0] = 0x34; /* reserved for signaling, not defined */
    CHECK(t2u_sig_parse(d, n, &m, NULL) == -1);
}

/* --log-format json: messages quoted as JSON strings. */
static void test_json_quote(void) {
    char out[64];
    CHECK(t2u_json_quote(out, sizeof out, "a \"b\" \\ c\n\x01") == 22);
    CHECK(strcmp(out, "\"a \\\"b\\\" \\\\ c\\n\\u0001\"") == 0);
    CHECK(t2u_json_quote(out, 8, "abcdefghij") == 7 && strcmp(out, "\"abcde\"") == 0);
    CHECK(t2u_json_quote(out, 8, "abcd\x02") == 6 && strcmp(out, "\"abcd\"") == 0); /* a whole escape or none */
}

int main(int argc, char **argv) {
    const char *vectors = argc > 1 ? argv[1] : "tests/vectors/swift-query.txt";
    if (t2u_crypto_init() != 0) return 1;
    test_crypto_vectors();
    test_captured_vectors(vectors);
    test_layouts();
    test_replay();
    test_signaling_client();
    test_hex_key();
    test_json_quote();
    test_documented_examples();
    printf("test_codec: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
