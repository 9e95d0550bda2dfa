/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Transport handshake v2, responder side (docs/protocol/handshake.md): mac1/mac2 and COOKIE_REPLY,
 * admission budgets, Noise IKpsk2 ("t2u IKpsk2 X25519 ChaChaPoly SHA256 v2"), the per-key
 * TAI64N replay guard, the device password (proof in message 1, psk2), HANDSHAKE_RESPONSE and
 * HANDSHAKE_REJECTION. Sans-IO: a datagram, its source and a clock in; a reply out. */
#ifndef T2U_HANDSHAKE_H
#define T2U_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "codec.h"

#define T2U_INITIATION_LEN 440
#define T2U_INIT_MAC1_OFF 408
#define T2U_INIT_MAC2_OFF 424
#define T2U_INIT_PAYLOAD_PLAIN 303
#define T2U_RESPONSE_MIN 66
#define T2U_REJECTION_LEN 66
#define T2U_COOKIE_REPLY_LEN 53
#define T2U_HS_MAX_PAYLOAD 256
#define T2U_REPLAY_KEYS 256
#define T2U_PREFIXES 64


typedef struct {
    uint8_t key[32];
    uint64_t newest_s; uint32_t newest_ns;
    uint64_t recent_s[17]; uint32_t recent_ns[17];
    int nrecent, has_floor;
    uint64_t floor_s; uint32_t floor_ns;
    uint64_t used;
} t2u_replay_record;

typedef struct {
    uint8_t static_priv[32], static_pub[32];
    uint8_t mac1_key[32], cookie_key[32];
    int has_password;
    uint8_t psk[32], proof_key[32];
    uint8_t cookie_secret[32], cookie_previous[32];
    int has_previous;
    uint64_t cookie_rotated_ms;
    t2u_bucket unproven, global;
    struct { uint8_t prefix[9]; t2u_bucket bucket; uint64_t used; int live; } prefixes[T2U_PREFIXES];
    t2u_replay_record replay[T2U_REPLAY_KEYS];
    uint64_t use_clock;
    /* counters (docs/protocol/handshake.md names) */
    uint64_t failing_mac1, cookie_replies, rate_limited, replayed, rejected_password, accepted, malformed;
} t2u_hs_responder;

/* What an accepted initiation produced. */
typedef struct {
    uint64_t peer_cid;
    uint8_t peer_static[32];
    uint8_t recv_secret[32], send_secret[32]; /* initiator->responder, responder->initiator */
    uint8_t peer_params[T2U_HS_MAX_PAYLOAD];
    size_t peer_params_len;
} t2u_hs_session;

enum t2u_hs_outcome {
    T2U_HS_DROP = 0,      /* nothing to send (counted) */
    T2U_HS_COOKIE = 1,    /* reply holds a COOKIE_REPLY */
    T2U_HS_REJECTED = 2,  /* reply holds a HANDSHAKE_REJECTION (wrong or missing password) */
    T2U_HS_ACCEPTED = 3   /* reply holds a HANDSHAKE_RESPONSE; session is filled */
};

void t2u_hs_init(t2u_hs_responder *r, const uint8_t static_priv[32], const char *password, uint64_t now_ms,
                 double handshakes_per_second);
/* One datagram of type 0x01 from `from`. `local_cid` is the CID the new connection receives on;
 * `params` the transport parameters sent in the response. reply must hold >= 66 + 256 bytes. */
int t2u_hs_respond(t2u_hs_responder *r, const uint8_t *d, size_t len, const t2u_addr *from, uint64_t now_ms,
                   uint64_t local_cid, const uint8_t *params, size_t params_len, uint8_t *reply, size_t *reply_len,
                   t2u_hs_session *session);
/* TAI64N comparison helper, exposed for tests: accepts (1) or refuses (0) and records. */
int t2u_hs_replay_accept(t2u_hs_responder *r, const uint8_t key[32], uint64_t s, uint32_t ns);
/* The cookie of a source address under a secret (tests). */
void t2u_hs_cookie(uint8_t out[16], const uint8_t secret[32], const t2u_addr *a);

#endif
