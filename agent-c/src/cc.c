/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "cc.h"

#define US 1000000u
#define GAIN_UNIT 256u
#define HIGH_GAIN 739u         /* 2/ln 2 = 2.885: doubles the delivery rate each round */
#define DRAIN_GAIN 89u         /* 1 / 2.885 */
#define PROBE_BW_CWND_GAIN 512u
#define BW_WINDOW_ROUNDS 10u
#define MIN_RTT_WINDOW_US (10u * US)
#define PROBE_RTT_US 200000u
/* ProbeRTT keeps half a BDP in flight (BBRv2), not four packets: enough to empty the queue,
 * without stopping a long fat path for over half a second (as the Swift transport). */
#define PROBE_RTT_CWND_GAIN 128u
#define FULL_BW_ROUNDS 3
/* A round losing more than a quarter of its data (well above the random loss BBR ignores; a
 * shallow buffer overflowing exceeds it) caps inflight at 0.7x, which then grows back. */
#define LOSS_CAP_FACTOR 179u
#define CYCLE_LENGTH 8
#define BURST_PACKETS 10u
#define WAKE_US 250u           /* a blocked pacer waits for this much sending time, not one packet */
#define MAX_WAKE_BATCH 65536u
#define MAX_PACING_DELAY_US US
#define NEWRENO_MAX_CWND (4u * 1024 * 1024)

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void filter_reset(t2u_maxfilter *f, uint64_t v, uint64_t t) {
    for (int i = 0; i < 3; i++) f->v[i] = v, f->t[i] = t;
}

static void filter_update(t2u_maxfilter *f, uint64_t v, uint64_t t, uint64_t window) {
    if (v >= f->v[0] || t - f->t[2] > window) {
        filter_reset(f, v, t);
        return;
    }
    if (v >= f->v[1]) {
        f->v[1] = f->v[2] = v;
        f->t[1] = f->t[2] = t;
    } else if (v >= f->v[2]) {
        f->v[2] = v, f->t[2] = t;
    }
    /* The best fell out of the window: promote the runners-up. */
    if (t - f->t[0] > window) {
        f->v[0] = f->v[1], f->t[0] = f->t[1];
        f->v[1] = f->v[2], f->t[1] = f->t[2];
        f->v[2] = v, f->t[2] = t;
        if (t - f->t[0] > window) {
            f->v[0] = f->v[1], f->t[0] = f->t[1];
            f->v[1] = f->v[2], f->t[1] = f->t[2];
        }
    } else if (f->t[1] == f->t[0] && t - f->t[1] > window / 4) {
        f->v[1] = f->v[2] = v;
        f->t[1] = f->t[2] = t;
    } else if (f->t[2] == f->t[1] && t - f->t[2] > window / 2) {
        f->v[2] = v, f->t[2] = t;
    }
}

void t2u_cc_init(t2u_cc *cc, int kind, uint64_t mss, uint64_t initial_rtt_us, uint64_t burst_us) {
    *cc = (t2u_cc){0};
    cc->kind = kind;
    cc->mss = mss;
    cc->initial_rtt = initial_rtt_us;
    cc->burst_us = burst_us;
    cc->initial_window = min64(10 * mss, max64(14720, 2 * mss));
    cc->min_window = (kind == T2U_CC_BBR ? 4 : 2) * mss;
    cc->cwnd = cc->initial_window;
    cc->ssthresh = UINT64_MAX;
    cc->pacing_gain = cc->cwnd_gain = HIGH_GAIN;
}

void t2u_cc_reset_for_new_path(t2u_cc *cc) {
    t2u_cc fresh;
    t2u_cc_init(&fresh, cc->kind, cc->mss, cc->initial_rtt, cc->burst_us);
    fresh.delivered = cc->delivered;
    fresh.delivered_time = cc->delivered_time;
    fresh.first_sent_time = cc->first_sent_time;
    fresh.next_round_delivered = cc->next_round_delivered;
    fresh.rounds = cc->rounds;
    *cc = fresh;
}

uint64_t t2u_cc_window(const t2u_cc *cc) { return cc->cwnd; }

uint64_t t2u_cc_pacing_rate(const t2u_cc *cc, uint64_t srtt_us) {
    uint64_t bw = cc->bw.v[0];
    if (cc->kind == T2U_CC_NEWRENO) return cc->cwnd * US / max64(srtt_us, 1) * 5 / 4;
    if (bw) return bw * cc->pacing_gain / GAIN_UNIT;
    /* No sample yet: the initial window over the RTT at startup gain. */
    uint64_t rtt = cc->min_rtt ? cc->min_rtt : srtt_us;
    return cc->cwnd * US / max64(rtt, 1) * HIGH_GAIN / GAIN_UNIT;
}

/* Largest burst the pacer releases at once: ten packets, or burst_us of sending at high rates. */
static uint64_t burst_bytes(const t2u_cc *cc, uint64_t rate) {
    return max64(BURST_PACKETS * cc->mss, rate * cc->burst_us / US);
}

static int64_t tokens_at(const t2u_cc *cc, uint64_t now, uint64_t rate) {
    int64_t cap = (int64_t)burst_bytes(cc, rate);
    if (!cc->pacer_started) return cap;
    /* Tokens accrue for as long as it takes (as the Swift Pacer): a bound on the time, not on
     * the refill, would leave a deficit larger than that time's tokens unpaid for ever. */
    uint64_t elapsed = now > cc->pacer_last ? now - cc->pacer_last : 0, refill = (uint64_t)cap * 2;
    int64_t t = cc->tokens + (int64_t)(elapsed >= refill * US / rate ? refill : elapsed * rate / US);
    return t < cap ? t : cap;
}

uint64_t t2u_cc_pacing_deadline(const t2u_cc *cc, uint64_t now, uint64_t size, uint64_t srtt_us) {
    uint64_t rate = t2u_cc_pacing_rate(cc, srtt_us);
    if (!rate) return now;
    int64_t avail = tokens_at(cc, now, rate);
    if (avail >= (int64_t)size) return now;
    /* At high rates one packet's tokens take microseconds: wait for a batch (the bucket keeps
     * filling meanwhile, so the rate is unchanged) instead of a timer per packet. */
    uint64_t batch = min64(min64(max64(size, rate * WAKE_US / US), MAX_WAKE_BATCH), burst_bytes(cc, rate));
    uint64_t need = (uint64_t)((int64_t)max64(size, batch) - avail);
    uint64_t wait = min64((need * US + rate - 1) / rate, MAX_PACING_DELAY_US);
    return now + (wait ? wait : 1);
}

void t2u_cc_on_sent(t2u_cc *cc, uint64_t now, uint64_t bytes, uint64_t bytes_in_flight, uint64_t srtt_us, t2u_cc_snap *snap) {
    if (bytes_in_flight == 0) {
        /* A new flight: rate samples must not span the idle period. */
        cc->first_sent_time = now;
        cc->delivered_time = now;
    }
    snap->delivered = cc->delivered;
    snap->delivered_time = cc->delivered_time;
    snap->first_sent_time = cc->first_sent_time;
    snap->app_limited = cc->app_limited_until != 0;
    uint64_t rate = t2u_cc_pacing_rate(cc, srtt_us);
    if (rate) {
        int64_t cap = (int64_t)burst_bytes(cc, rate), t = tokens_at(cc, now, rate) - (int64_t)bytes;
        cc->tokens = t > -cap ? t : -cap;
    }
    cc->pacer_last = now;
    cc->pacer_started = 1;
    /* Filling the window ends an app-limited phase. */
    if (bytes_in_flight + bytes + cc->mss > cc->cwnd) cc->app_limited = 0;
}

void t2u_cc_on_app_limited(t2u_cc *cc, uint64_t bytes_in_flight) {
    cc->app_limited = 1;
    cc->app_limited_until = max64(cc->delivered + bytes_in_flight, 1);
}

void t2u_cc_ack_begin(t2u_cc_ack *a, uint64_t now, uint64_t bytes_in_flight) {
    *a = (t2u_cc_ack){0};
    a->now = now;
    a->prior_in_flight = bytes_in_flight;
    a->prior_delivered = -1;
}

void t2u_cc_ack_packet(t2u_cc *cc, t2u_cc_ack *a, const t2u_cc_snap *snap, uint64_t sent_time, uint64_t bytes) {
    a->acked_bytes += bytes;
    cc->delivered += bytes;
    cc->delivered_time = a->now;
    if ((int64_t)snap->delivered >= a->prior_delivered) {
        a->prior_delivered = (int64_t)snap->delivered;
        a->app_limited = snap->app_limited;
        a->send_elapsed = sent_time - snap->first_sent_time;
        a->ack_elapsed = a->now - snap->delivered_time;
        cc->first_sent_time = sent_time;
    }
    /* NewReno: no growth from packets sent before the last reduction. */
    if (cc->kind == T2U_CC_NEWRENO && sent_time > cc->recovery_start && !cc->app_limited) {
        if (cc->cwnd < cc->ssthresh) cc->cwnd += bytes; /* slow start */
        else cc->cwnd += cc->mss * bytes / cc->cwnd;
        cc->cwnd = min64(cc->cwnd, NEWRENO_MAX_CWND);
    }
}

static uint64_t bdp(const t2u_cc *cc, uint64_t gain) {
    if (!cc->min_rtt || !cc->bw.v[0]) return cc->initial_window;
    return cc->bw.v[0] * cc->min_rtt / US * gain / GAIN_UNIT;
}

static uint64_t probe_rtt_window(const t2u_cc *cc) { return max64(cc->min_window, bdp(cc, PROBE_RTT_CWND_GAIN)); }

static uint32_t cycle_gain(int index) { return index == 0 ? 320 : index == 1 ? 192 : GAIN_UNIT; }

static void enter_probe_bw(t2u_cc *cc, uint64_t now) {
    cc->mode = T2U_BBR_PROBE_BW;
    cc->cwnd_gain = PROBE_BW_CWND_GAIN;
    cc->cycle_index = 2; /* cruise first; the probe phase comes after the cruise phases */
    cc->cycle_stamp = now;
    cc->pacing_gain = cycle_gain(cc->cycle_index);
}

static void end_loss_round(t2u_cc *cc) {
    uint64_t total = cc->round_lost + cc->round_acked;
    if (total && cc->round_lost >= 3 * cc->mss && cc->round_lost * 4 > total) {
        uint64_t base = cc->inflight_cap ? min64(cc->inflight_cap, cc->cwnd) : cc->cwnd;
        cc->inflight_cap = max64(cc->min_window, base * LOSS_CAP_FACTOR / GAIN_UNIT);
        cc->filled_pipe = 1; /* startup overflowing the buffer: the pipe is full */
    } else if (cc->inflight_cap) {
        uint64_t grown = cc->inflight_cap + cc->inflight_cap / 4 + cc->mss;
        cc->inflight_cap = grown >= 2 * bdp(cc, cc->cwnd_gain) ? 0 : grown;
    }
    cc->round_lost = cc->round_acked = 0;
}

static void check_full_pipe(t2u_cc *cc) {
    uint64_t bw = cc->bw.v[0];
    if (bw * 4 >= cc->full_bw * 5) { /* still growing by 25% a round */
        cc->full_bw = bw;
        cc->full_bw_count = 0;
        return;
    }
    if (++cc->full_bw_count >= FULL_BW_ROUNDS) cc->filled_pipe = 1;
}

static void advance_cycle(t2u_cc *cc, uint64_t now, uint64_t prior_in_flight) {
    int full_length = now - cc->cycle_stamp > (cc->min_rtt ? cc->min_rtt : cc->initial_rtt);
    int advance;
    if (cc->cycle_index == 0) advance = full_length && (cc->round_lost > 0 || prior_in_flight >= bdp(cc, 320));
    else if (cc->cycle_index == 1) advance = full_length || prior_in_flight <= bdp(cc, GAIN_UNIT);
    else advance = full_length;
    if (!advance) return;
    cc->cycle_index = (cc->cycle_index + 1) % CYCLE_LENGTH;
    cc->cycle_stamp = now;
    cc->pacing_gain = cycle_gain(cc->cycle_index);
}

static void update_min_rtt(t2u_cc *cc, uint64_t now, uint64_t rtt, int round_start, uint64_t in_flight) {
    int expired = cc->min_rtt && now > cc->min_rtt_stamp + MIN_RTT_WINDOW_US;
    if (rtt && (!cc->min_rtt || rtt <= cc->min_rtt || expired)) {
        cc->min_rtt = rtt;
        cc->min_rtt_stamp = now;
    }
    if (expired && cc->mode != T2U_BBR_PROBE_RTT) {
        /* Drain the queue briefly to see the path's real minimum RTT. */
        cc->mode = T2U_BBR_PROBE_RTT;
        cc->pacing_gain = cc->cwnd_gain = GAIN_UNIT;
        cc->prior_cwnd = max64(cc->prior_cwnd, cc->cwnd);
        cc->probe_rtt_done = 0;
        cc->probe_rtt_round_done = 0;
    }
    if (cc->mode != T2U_BBR_PROBE_RTT) return;
    if (!cc->probe_rtt_done) {
        if (in_flight <= probe_rtt_window(cc)) {
            cc->probe_rtt_done = now + PROBE_RTT_US;
            cc->probe_rtt_round_done = 0;
        }
        return;
    }
    if (round_start) cc->probe_rtt_round_done = 1;
    if (!cc->probe_rtt_round_done || now < cc->probe_rtt_done) return;
    cc->min_rtt_stamp = now;
    cc->cwnd = max64(cc->cwnd, cc->prior_cwnd);
    cc->prior_cwnd = 0;
    if (cc->filled_pipe) {
        enter_probe_bw(cc, now);
    } else {
        cc->mode = T2U_BBR_STARTUP;
        cc->pacing_gain = cc->cwnd_gain = HIGH_GAIN;
    }
}

static void set_cwnd(t2u_cc *cc, uint64_t acked) {
    /* Room for a few pacer bursts on top of the BDP (Linux BBR's quantization budget): on a
     * sub-millisecond path 2 x BDP is smaller than one burst, and the window, not the model,
     * would limit the rate. */
    uint64_t target = bdp(cc, cc->cwnd_gain) + 3 * burst_bytes(cc, t2u_cc_pacing_rate(cc, cc->initial_rtt));
    if (cc->filled_pipe) cc->cwnd = min64(cc->cwnd + acked, target);
    else if (cc->cwnd < target || cc->delivered < cc->initial_window) cc->cwnd += acked;
    cc->cwnd = max64(cc->cwnd, cc->min_window);
    if (cc->mode == T2U_BBR_PROBE_RTT) cc->cwnd = min64(cc->cwnd, probe_rtt_window(cc));
    if (cc->inflight_cap) cc->cwnd = min64(cc->cwnd, cc->inflight_cap);
}

void t2u_cc_ack_end(t2u_cc *cc, t2u_cc_ack *a, uint64_t rtt_us, uint64_t bytes_in_flight) {
    if (a->prior_delivered < 0 || a->acked_bytes == 0) return;
    /* The delivery-rate sample: the slower of the send and ack rates (ACK compression must not
     * inflate it), never over less than the minimum RTT. */
    int round_start = 0;
    if (cc->app_limited_until && cc->delivered > cc->app_limited_until) cc->app_limited_until = 0;
    if ((uint64_t)a->prior_delivered >= cc->next_round_delivered) {
        cc->next_round_delivered = cc->delivered;
        cc->rounds++;
        round_start = 1;
    }
    uint64_t interval = max64(a->send_elapsed, a->ack_elapsed), rate = 0;
    uint64_t floor = cc->min_rtt && rtt_us ? min64(cc->min_rtt, rtt_us) : cc->min_rtt ? cc->min_rtt : rtt_us;
    if (interval > 0 && interval >= floor && cc->delivered >= (uint64_t)a->prior_delivered) rate = (cc->delivered - (uint64_t)a->prior_delivered) * US / interval;
    if (cc->kind != T2U_CC_BBR) return;

    cc->round_acked += a->acked_bytes;
    if (round_start) end_loss_round(cc);
    if (rate && (!a->app_limited || rate >= cc->bw.v[0])) filter_update(&cc->bw, rate, cc->rounds, BW_WINDOW_ROUNDS);
    if (cc->mode == T2U_BBR_PROBE_BW) advance_cycle(cc, a->now, a->prior_in_flight);
    if (!cc->filled_pipe && round_start && !a->app_limited) check_full_pipe(cc);
    if (cc->mode == T2U_BBR_STARTUP && cc->filled_pipe) {
        cc->mode = T2U_BBR_DRAIN;
        cc->pacing_gain = DRAIN_GAIN;
        cc->cwnd_gain = HIGH_GAIN;
    }
    if (cc->mode == T2U_BBR_DRAIN && bytes_in_flight <= bdp(cc, GAIN_UNIT)) enter_probe_bw(cc, a->now);
    update_min_rtt(cc, a->now, rtt_us, round_start, bytes_in_flight);
    set_cwnd(cc, a->acked_bytes);
}

void t2u_cc_on_lost(t2u_cc *cc, uint64_t now, uint64_t sent_time, uint64_t bytes) {
    if (cc->kind == T2U_CC_BBR) {
        /* No reaction to the rate: the model reflects what was delivered. Losses per round
         * detect overload (end_loss_round). */
        cc->round_lost += bytes;
        return;
    }
    if (sent_time <= cc->recovery_start) return; /* one reduction per round trip */
    cc->recovery_start = now;
    cc->cwnd = max64(cc->cwnd / 2, cc->min_window);
    cc->ssthresh = cc->cwnd;
}

void t2u_cc_on_persistent_congestion(t2u_cc *cc) {
    cc->prior_cwnd = 0;
    cc->cwnd = cc->min_window;
}
