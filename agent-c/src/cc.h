/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Congestion control and pacing for one connection (Sources/T2UCore/Recovery: Bbr, Pacer,
 * LossRecovery's delivery-rate estimation), pure: bytes sent, acknowledged and lost and the time
 * (microseconds) go in; the window and the pacing deadline come out. Two controllers: the BBR-like
 * model (default, as the Swift transport's) and NewReno. Integer arithmetic only (gains in 1/256):
 * camera chips may lack an FPU. */
#ifndef T2U_CC_H
#define T2U_CC_H

#include <stdint.h>

enum t2u_cc_kind { T2U_CC_BBR = 0, T2U_CC_NEWRENO = 1 };
enum t2u_bbr_mode { T2U_BBR_STARTUP, T2U_BBR_DRAIN, T2U_BBR_PROBE_BW, T2U_BBR_PROBE_RTT };

/* Delivery state when a packet was sent (draft-cheng-iccrg-delivery-rate-estimation). */
typedef struct {
    uint64_t delivered, delivered_time, first_sent_time;
    uint8_t app_limited;
} t2u_cc_snap;

/* Windowed maximum over rounds (Nichols' algorithm, best three samples). */
typedef struct {
    uint64_t v[3], t[3];
} t2u_maxfilter;

/* One ACK frame's effect, accumulated packet by packet (t2u_cc_ack_*). */
typedef struct {
    uint64_t now, acked_bytes, prior_in_flight;
    int64_t prior_delivered; /* -1: no in-flight packet acknowledged */
    uint64_t send_elapsed, ack_elapsed;
    uint8_t app_limited;
} t2u_cc_ack;

typedef struct {
    int kind;
    uint64_t mss, min_window, initial_window, initial_rtt, burst_us;
    uint64_t cwnd;
    /* Delivery-rate estimation. */
    uint64_t delivered, delivered_time, first_sent_time, app_limited_until, next_round_delivered, rounds;
    int app_limited;
    /* Pacer: a token bucket (bytes; may go negative after an unpaced probe). */
    int64_t tokens;
    uint64_t pacer_last;
    int pacer_started;
    /* NewReno. */
    uint64_t ssthresh, recovery_start;
    /* BBR. */
    int mode, filled_pipe, full_bw_count, cycle_index, probe_rtt_round_done;
    uint32_t pacing_gain, cwnd_gain; /* x256 */
    t2u_maxfilter bw;                /* bytes per second */
    uint64_t min_rtt, min_rtt_stamp, full_bw, cycle_stamp, probe_rtt_done, prior_cwnd;
    uint64_t inflight_cap, round_lost, round_acked; /* cap 0: none */
} t2u_cc;

/* burst_us: the shell's timer granularity the pacer must bridge (1000 for a 1 ms clock). */
void t2u_cc_init(t2u_cc *cc, int kind, uint64_t mss, uint64_t initial_rtt_us, uint64_t burst_us);
/* Another path (migration): window, model and pacer start afresh as after init; the delivery-rate
 * clock (bytes delivered, when last, the flight's first send, rounds) carries on, as the Swift
 * LossRecovery.resetForNewPath: packets still in flight from the old path would leave a zeroed
 * clock untouched (a new flight starts only at zero in flight), and the new path's first packets
 * would then measure their rate over the whole uptime (a few bytes/s). */
void t2u_cc_reset_for_new_path(t2u_cc *cc);
uint64_t t2u_cc_window(const t2u_cc *cc);
/* Bytes per second the pacer releases. srtt_us: the connection's smoothed RTT. */
uint64_t t2u_cc_pacing_rate(const t2u_cc *cc, uint64_t srtt_us);
/* now if `size` bytes may leave now, else when to come back (a batch, not one packet, at high rates). */
uint64_t t2u_cc_pacing_deadline(const t2u_cc *cc, uint64_t now, uint64_t size, uint64_t srtt_us);

/* An in-flight packet was sent; bytes_in_flight excludes it. Fills its snapshot. */
void t2u_cc_on_sent(t2u_cc *cc, uint64_t now, uint64_t bytes, uint64_t bytes_in_flight, uint64_t srtt_us, t2u_cc_snap *snap);
/* The sender had nothing to send with the window open: samples until then understate the path. */
void t2u_cc_on_app_limited(t2u_cc *cc, uint64_t bytes_in_flight);

/* An ACK: begin, one call per newly acknowledged in-flight packet, then end with the RTT sample
 * (0: none) and bytes in flight after the ACK and the losses it revealed. */
void t2u_cc_ack_begin(t2u_cc_ack *a, uint64_t now, uint64_t bytes_in_flight);
void t2u_cc_ack_packet(t2u_cc *cc, t2u_cc_ack *a, const t2u_cc_snap *snap, uint64_t sent_time, uint64_t bytes);
void t2u_cc_ack_end(t2u_cc *cc, t2u_cc_ack *a, uint64_t rtt_us, uint64_t bytes_in_flight);

/* In-flight packets sent at sent_time were declared lost. */
void t2u_cc_on_lost(t2u_cc *cc, uint64_t now, uint64_t sent_time, uint64_t bytes);
/* Nothing got through for several PTOs: the path changed or is overloaded. */
void t2u_cc_on_persistent_congestion(t2u_cc *cc);

#endif
