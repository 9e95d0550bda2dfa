/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* One accepted transport connection (docs/protocol/transport.md §4-§5): packet protection,
 * frames, ACKs, loss recovery (packet threshold 3, time threshold 9/8 RTT, PTO) with the BBR-like
 * controller and pacing (cc.h; NewReno by choice), connection and stream flow control, path
 * responses. Sans-IO: datagrams and a clock in;
 * datagrams and a deadline out. Stream bytes go to and from the TCP side through t2u_stream. */
#ifndef T2U_TRANSPORT_H
#define T2U_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cc.h"
#include "codec.h"
#include "handshake.h"
#include "replay.h"
#include "stream.h"

#define T2U_MAX_STREAMS 16
#define T2U_SENT_RING 2048
#define T2U_PACKET_SIZE 1200
#define T2U_STREAM_WINDOW (256 * 1024)
#define T2U_CONN_WINDOW (1024 * 1024)

typedef struct {
    uint8_t key[32], iv[12], secret[32];
} t2u_phase_keys;

void t2u_phase_keys_derive(t2u_phase_keys *k, const uint8_t secret[32]);
/* The next phase's secret (key update); shared == NULL: without a fresh DH. */
void t2u_phase_keys_next(t2u_phase_keys *out, const t2u_phase_keys *k, const uint8_t *shared);

enum t2u_stream_state { T2U_ST_HEADER, T2U_ST_CONNECTING, T2U_ST_OPEN, T2U_ST_CLOSED };

typedef struct {
    int live;
    uint64_t id;
    int state;
    int fd;                  /* TCP socket (-1 until connected) */
    int tcp_eof_sent;        /* shutdown(SHUT_WR) done after the peer's FIN */
    t2u_recv recv;
    t2u_send send;
    int reset_pending;       /* send RESET_STREAM */
    uint64_t reset_code;
    int max_stream_data_pending;
} t2u_stream;

typedef struct {
    uint64_t pn, sent_ms;
    uint16_t bytes;
    uint8_t ack_eliciting, in_flight, acked, lost;
    uint8_t has_stream, fin, ctl; /* ctl: control frames to send again if lost */
    uint8_t slot;                 /* stream slot */
    uint64_t stream_id, off;
    uint32_t len;
    t2u_cc_snap snap; /* delivery state at send time (rate samples) */
} t2u_sent;

enum { T2U_CTL_MAX_DATA = 1, T2U_CTL_MAX_STREAMS = 2, T2U_CTL_KEY_UPDATE = 4 };

typedef struct {
    int live;
    uint64_t local_cid, peer_cid;
    t2u_addr peer;
    uint64_t peer_pn_highest;
    t2u_phase_keys send_keys, recv_keys, prev_recv, next_recv;
    int key_phase, has_prev, has_lowest;
    uint64_t lowest_pn_in_phase;  /* first packet number authenticated in the current phase */
    /* KEY_UPDATE responder (handshake.md §Key updates): the answered request and its secret. */
    uint64_t ku_answered_seq;
    int ku_answered;             /* a response exists for ku_answered_seq */
    int ku_response_pending;     /* (re)send KEY_UPDATE_RESPONSE */
    uint8_t ku_public[32], ku_shared[32];
    t2u_replay replay;
    /* ACK state: received packet numbers, highest ranges kept. */
    t2u_ranges received;
    int ack_pending, ack_eliciting_unacked;
    uint64_t ack_due_ms;
    uint64_t largest_received, largest_received_ms;
    /* Sending and recovery. */
    uint64_t next_pn;
    t2u_sent sent[T2U_SENT_RING];
    uint64_t oldest_unacked_pn;
    uint64_t largest_acked;
    int has_acked;
    uint64_t bytes_in_flight;
    t2u_cc cc;
    uint64_t srtt, rttvar, min_rtt, latest_rtt; /* ms */
    int has_rtt, pto_count;
    uint64_t last_ack_eliciting_sent_ms;
    /* Flow control. */
    uint64_t peer_max_data, sent_new_bytes;      /* connection credit from the peer, used */
    uint64_t max_data_granted, received_bytes, consumed_bytes;
    uint64_t peer_stream_window, peer_max_streams;
    uint64_t streams_opened, streams_closed, max_streams_granted;
    t2u_ranges finished; /* indices (id >> 1) of streams done: their late frames are ignored */
    int ctl_pending;
    /* PATH_CHALLENGE data to answer, and where. */
    uint64_t path_data[4];
    t2u_addr path_from[4];
    int npath;
    /* Migration (transport.md §4): the peer's newest non-probing packet from a new address moves
     * `peer` there at once, at most 3x the bytes received from it (amplification limit) until it
     * answers our PATH_CHALLENGE; unanswered, `peer` goes back to `validated`. */
    t2u_addr validated;
    uint64_t largest_non_probing;
    int has_non_probing;
    int amp_active;
    t2u_addr amp_addr;
    uint64_t amp_received, amp_sent;
    int pv_active, pv_sends;
    t2u_addr pv_addr;
    uint64_t pv_challenge, pv_deadline, pv_next_send;
    t2u_stream streams[T2U_MAX_STREAMS];
    uint64_t last_receive_ms, idle_ms;
    uint64_t now_ms; /* the latest time the owner gave (receive, transmit, timeout): deadlines count from it */
    int closing; /* CLOSE received or idle: the owner frees it */
    uint64_t bytes_received, bytes_sent;
} t2u_conn;

/* The congestion controller of every connection: the BBR-like one, as the Swift transport's
 * default; `make CFLAGS+=-DT2U_CONGESTION_CONTROL=T2U_CC_NEWRENO` for NewReno. */
#ifndef T2U_CONGESTION_CONTROL
#define T2U_CONGESTION_CONTROL T2U_CC_BBR
#endif

/* From an accepted handshake; the peer's transport parameters decide its credit. */
int t2u_conn_init(t2u_conn *c, const t2u_hs_session *s, uint64_t local_cid, const t2u_addr *peer, uint64_t now);
void t2u_conn_free(t2u_conn *c);
/* A 1-RTT datagram for this connection (destination CID matched by the owner). */
void t2u_conn_receive(t2u_conn *c, uint8_t *d, size_t len, const t2u_addr *from, uint64_t now);
/* Next datagram to send, or 0. */
size_t t2u_conn_poll_transmit(t2u_conn *c, uint64_t now, uint8_t *out, size_t cap, t2u_addr *to);
void t2u_conn_handle_timeout(t2u_conn *c, uint64_t now);
uint64_t t2u_conn_next_deadline(const t2u_conn *c);
/* The TCP side consumed n bytes of a stream's receive buffer (credit goes back to the peer). */
void t2u_conn_consumed(t2u_conn *c, t2u_stream *st, size_t n);
/* The stream's TCP side failed or was refused: RESET_STREAM toward the peer. */
void t2u_conn_reset_stream(t2u_conn *c, t2u_stream *st, uint64_t code);
/* Frees streams that finished both ways (TCP closed by the caller's callback). */
void t2u_conn_collect(t2u_conn *c, void (*closed)(t2u_stream *st));

#endif
