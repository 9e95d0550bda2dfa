/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Sans-IO signaling client, device role (SignalingClient): HELLO -> CHALLENGE -> REGISTER (Noise
 * IK to the server's key) -> REGISTERED, then sealed KEEPALIVEs and INTRODUCE/INTRODUCE_ACK in the
 * channel, a NAT probe of the observation port, failover across a server list. Bytes and a
 * millisecond clock in; datagrams and a deadline out. */
#ifndef T2U_SIGNALING_H
#define T2U_SIGNALING_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "replay.h"

#define T2U_NEVER UINT64_MAX
#define T2U_MAX_SERVERS 16
#define T2U_OUTBOX 8

enum t2u_sig_status { T2U_SIG_CONNECTING = 0, T2U_SIG_REGISTERED = 1, T2U_SIG_KEY_REJECTED = 2 };
enum t2u_sig_phase { T2U_PHASE_HELLO, T2U_PHASE_REGISTERING, T2U_PHASE_REGISTERED };

typedef struct {
    const char *uuid;
    const uint8_t *extra;
    size_t extra_len;
    uint8_t identity_priv[32];
    uint8_t identity_pub[32];
    int pinned;                  /* server_key holds the pinned svrkey */
    uint8_t server_key[32];
    const uint8_t *certificate;  /* NULL: none */
    size_t certificate_len;
    int rotating;                /* old_priv/old_pub: the key this UUID was bound to */
    uint8_t old_priv[32], old_pub[32];
    t2u_addr servers[T2U_MAX_SERVERS];
    size_t nservers;
    t2u_addr candidates[T2U_MAX_CANDIDATES];
    size_t ncandidates;
    int classifies_nat;
    uint64_t initial_retransmit_ms, max_retransmit_ms, max_keepalive_ms, request_timeout_ms;
    int keepalive_retries, failover_after_sends;
} t2u_sig_config;

typedef struct {
    uint32_t request_id;
    uint64_t next_send_at, interval;
    int sends;
} t2u_retry;

/* What the owner is told; drained with t2u_sig_poll_event. */
enum t2u_sig_event_kind {
    T2U_EV_STATUS, T2U_EV_OBSERVED, T2U_EV_NAT, T2U_EV_INTRODUCED, T2U_EV_REFUSED, T2U_EV_UNPINNED, T2U_EV_RELAY_UNKNOWN
};
typedef struct {
    int kind;
    int status;          /* STATUS */
    uint8_t code;        /* REFUSED */
    t2u_addr addr;       /* OBSERVED, INTRODUCED (client public address) */
    t2u_nat nat;         /* NAT, INTRODUCED (client's) */
    uint64_t session_id, cid; /* INTRODUCED, RELAY_UNKNOWN (cid) */
    uint16_t punch_delay_ms;  /* INTRODUCED: wait this long before punching (the client sends first) */
    int relay_allowed;
    t2u_addr candidates[T2U_MAX_CANDIDATES];
    uint8_t ncandidates;
    uint8_t key[32];     /* UNPINNED: the key CHALLENGE stated */
} t2u_sig_event;

typedef struct {
    t2u_sig_config cfg;
    size_t server_index;
    int phase, status;
    t2u_retry exchange;
    uint32_t next_request_id;
    /* REGISTERING: the REGISTER built once per CHALLENGE, and the handshake state after it. */
    uint8_t reg[T2U_REGISTER_HEADER + 32 + 48 + T2U_MAX_ENCRYPTED];
    size_t reg_len;
    t2u_noise noise;
    uint8_t eph_priv[32];
    uint8_t rs[32];
    /* REGISTERED: the channel. */
    uint64_t token, send_counter;
    uint8_t send_key[32], recv_key[32];
    t2u_replay replay;
    uint64_t keepalive_ms, keepalive_due;
    int have_observed;
    t2u_addr observed;
    t2u_nat nat;
    int warned_unpinned;
    /* NAT probe of the observation port (main port + 1). */
    int probing;
    t2u_retry probe;
    uint64_t probe_deadline;
    /* Channel messages waiting to go out (plaintext inner messages, sealed when sent). */
    struct { uint8_t msg[64]; size_t len; } outbox[T2U_OUTBOX];
    size_t outbox_count;
    uint64_t seen_sessions[64];
    size_t seen_next;
    t2u_sig_event events[16];
    size_t event_head, event_count;
    uint64_t ignored, failovers, refusals;
    int awaits; /* the datagram t2u_sig_poll_transmit last returned is one the server answers */
} t2u_sig;

/* 0, or -1 when the configuration breaks a wire bound (err says which). */
int t2u_sig_init(t2u_sig *s, const t2u_sig_config *cfg, uint64_t now, char *err, size_t errcap);
/* A datagram from `from` (only the current server and its observation port are listened to). */
void t2u_sig_receive(t2u_sig *s, const uint8_t *p, size_t len, const t2u_addr *from, uint64_t now);
/* The next datagram to send, or 0. */
size_t t2u_sig_poll_transmit(t2u_sig *s, uint64_t now, uint8_t *out, size_t cap, t2u_addr *to);
void t2u_sig_handle_timeout(t2u_sig *s, uint64_t now);
/* The pending exchange goes again now (server traffic moved between UDP and the TCP stream). */
void t2u_sig_retransmit_now(t2u_sig *s, uint64_t now);
uint64_t t2u_sig_next_deadline(const t2u_sig *s);
int t2u_sig_poll_event(t2u_sig *s, t2u_sig_event *ev);
const t2u_addr *t2u_sig_server(const t2u_sig *s);
t2u_addr t2u_sig_observation(const t2u_sig *s);
/* Whether `from` is the current server or its observation port. */
int t2u_sig_is_server(const t2u_sig *s, const t2u_addr *from);
/* The rotation proof (docs/protocol/identity.md); exposed for tests. */
int t2u_rotation_proof(uint8_t proof[32], const uint8_t old_priv[32], const uint8_t server_pub[32], const char *uuid,
                       const uint8_t new_pub[32], const uint8_t *cookie, size_t cookie_len);

#endif
