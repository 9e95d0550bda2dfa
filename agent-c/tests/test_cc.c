/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The congestion controllers and the pacer (src/cc.c) on a simulated bottleneck: a link of a
 * given rate and buffer, a propagation RTT, optional random loss, a sender that always has data
 * and sends when the window and the pacer allow. Deterministic (virtual microseconds, a fixed
 * seed): bandwidth discovery, random loss (BBR keeps the rate, NewReno collapses), a shallow
 * buffer, an RTT increase and decrease, pacing in batches, persistent congestion. */
#include <stdio.h>
#include <string.h>

#include "cc.h"

#include "check.h"

#define MSS 1200u
#define RING 65536u

typedef struct {
    uint64_t rate;      /* bottleneck, bytes/s */
    uint64_t rtt;       /* propagation RTT, us */
    uint64_t buffer_us; /* queue the bottleneck holds before dropping */
    uint32_t loss_ppm;  /* random loss, per million packets */
} link_t;

typedef struct {
    uint64_t sent_time, ack_time;
    t2u_cc_snap snap;
    int dropped;
} pkt_t;

static pkt_t pkts[RING];

typedef struct {
    t2u_cc cc;
    link_t link;
    uint64_t now, link_free, last_ack_time, inflight, seed;
    uint64_t head, tail; /* packets [head, tail) outstanding, in send order */
    uint64_t delivered, sends, wakes, max_rtt, min_rtt;
} sim_t;

static uint32_t rnd(sim_t *s) {
    s->seed = s->seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(s->seed >> 33);
}

static void sim_init(sim_t *s, int kind, link_t link) {
    memset(s, 0, sizeof *s);
    t2u_cc_init(&s->cc, kind, MSS, 100000, 1000);
    s->link = link;
    s->now = 1000000;
    s->seed = 12345;
}

static void send_one(sim_t *s) {
    pkt_t *p = &pkts[s->tail % RING];
    memset(p, 0, sizeof *p);
    p->sent_time = s->now;
    t2u_cc_on_sent(&s->cc, s->now, MSS, s->inflight, s->link.rtt, &p->snap);
    s->inflight += MSS;
    s->sends++;
    uint64_t arrive = s->now + s->link.rtt / 2;
    uint64_t start = arrive > s->link_free ? arrive : s->link_free;
    if (start - arrive > s->link.buffer_us || (s->link.loss_ppm && rnd(s) % 1000000 < s->link.loss_ppm)) {
        p->dropped = 1;
        p->ack_time = s->last_ack_time; /* reported lost with the next ACK after it */
    } else {
        uint64_t depart = start + MSS * 1000000ull / s->link.rate;
        s->link_free = depart;
        p->ack_time = depart + s->link.rtt / 2;
        if (p->ack_time < s->last_ack_time) p->ack_time = s->last_ack_time; /* ACKs stay in order */
        s->last_ack_time = p->ack_time;
    }
    s->tail++;
}

/* The next delivered packet's ACK, with the dropped packets before it reported lost. */
static void ack_next(sim_t *s) {
    while (s->head < s->tail && pkts[s->head % RING].dropped) {
        t2u_cc_on_lost(&s->cc, s->now, pkts[s->head % RING].sent_time, MSS);
        s->inflight -= MSS;
        s->head++;
    }
    if (s->head == s->tail) return;
    pkt_t *p = &pkts[s->head++ % RING];
    t2u_cc_ack a;
    t2u_cc_ack_begin(&a, s->now, s->inflight);
    t2u_cc_ack_packet(&s->cc, &a, &p->snap, p->sent_time, MSS);
    s->inflight -= MSS;
    uint64_t rtt = s->now - p->sent_time;
    if (rtt > s->max_rtt) s->max_rtt = rtt;
    if (!s->min_rtt || rtt < s->min_rtt) s->min_rtt = rtt;
    t2u_cc_ack_end(&s->cc, &a, rtt, s->inflight);
    s->delivered += MSS;
}

static uint64_t next_ack_time(const sim_t *s) {
    for (uint64_t i = s->head; i < s->tail; i++)
        if (!pkts[i % RING].dropped) return pkts[i % RING].ack_time;
    return UINT64_MAX;
}

/* Runs until `until`; returns the bytes delivered meanwhile. */
static uint64_t sim_run(sim_t *s, uint64_t until) {
    uint64_t before = s->delivered;
    s->max_rtt = s->min_rtt = 0;
    while (s->now < until) {
        uint64_t send_at = UINT64_MAX;
        if (s->inflight + MSS <= t2u_cc_window(&s->cc) && s->tail - s->head < RING)
            send_at = t2u_cc_pacing_deadline(&s->cc, s->now, MSS, s->link.rtt);
        uint64_t ack_at = next_ack_time(s);
        uint64_t next = send_at < ack_at ? send_at : ack_at;
        if (next == UINT64_MAX) break;
        if (next > s->now) {
            s->now = next;
            if (next == send_at) s->wakes++;
        }
        if (s->now >= until) break;
        if (next == ack_at) ack_next(s);
        else send_one(s);
    }
    return s->delivered - before;
}

static double mbps(uint64_t bytes, uint64_t us) { return (double)bytes / (double)us; }

int main(void) {
    const link_t ten = {10000000, 20000, 20000, 0}; /* 10 MB/s, 20 ms, one BDP of buffer */
    static sim_t s;

    /* Bandwidth discovery: startup finds the rate, drain empties the queue, then cruise. */
    sim_init(&s, T2U_CC_BBR, ten);
    sim_run(&s, s.now + 2000000);
    uint64_t got = sim_run(&s, s.now + 2000000);
    double rate = mbps(got, 2000000);
    printf("bbr discovery: %.2f MB/s, bw %.2f MB/s, min_rtt %llu us, max rtt %llu us, cwnd %llu\n", rate,
           (double)s.cc.bw.v[0] / 1e6, (unsigned long long)s.cc.min_rtt, (unsigned long long)s.max_rtt,
           (unsigned long long)t2u_cc_window(&s.cc));
    CHECK(s.cc.mode == T2U_BBR_PROBE_BW);
    CHECK(rate > 9.0 && rate <= 10.01);
    CHECK(s.cc.bw.v[0] >= 9000000 && s.cc.bw.v[0] <= 11000000);
    CHECK(s.cc.min_rtt >= 20000 && s.cc.min_rtt <= 21000);
    CHECK(s.max_rtt < 2 * 20000 + 2000); /* the queue stays below one BDP after the drain */

    /* 1% random loss: the model keeps the rate; NewReno halves on every loss and collapses. */
    link_t lossy = ten;
    lossy.loss_ppm = 10000;
    sim_init(&s, T2U_CC_BBR, lossy);
    sim_run(&s, s.now + 2000000);
    double bbr_lossy = mbps(sim_run(&s, s.now + 2000000), 2000000);
    sim_init(&s, T2U_CC_NEWRENO, lossy);
    sim_run(&s, s.now + 2000000);
    double reno_lossy = mbps(sim_run(&s, s.now + 2000000), 2000000);
    printf("1%% loss: bbr %.2f MB/s, newreno %.2f MB/s\n", bbr_lossy, reno_lossy);
    CHECK(bbr_lossy > 8.0);
    CHECK(reno_lossy < 3.0);

    /* NewReno without loss fills the link too (the choice stays usable). */
    sim_init(&s, T2U_CC_NEWRENO, ten);
    sim_run(&s, s.now + 3000000);
    rate = mbps(sim_run(&s, s.now + 2000000), 2000000);
    printf("newreno clean: %.2f MB/s\n", rate);
    CHECK(rate > 8.0);

    /* A shallow buffer (2 ms): startup overflows it; the loss cap bounds inflight and the
     * rate stays near the link's without a loss storm. */
    link_t shallow = ten;
    shallow.buffer_us = 2000;
    sim_init(&s, T2U_CC_BBR, shallow);
    sim_run(&s, s.now + 200000);
    int capped = s.cc.inflight_cap != 0 || s.cc.filled_pipe;
    uint64_t sends0 = s.sends, d0 = s.delivered;
    sim_run(&s, s.now + 3000000);
    rate = mbps(s.delivered - d0, 3000000);
    double loss_rate = 1.0 - (double)(s.delivered - d0) / (double)((s.sends - sends0) * MSS);
    printf("shallow buffer: %.2f MB/s, loss %.3f\n", rate, loss_rate);
    CHECK(capped);
    CHECK(rate > 8.0);
    CHECK(loss_rate < 0.05);

    /* RTT increase (20 -> 60 ms): the 10 s min-RTT window expires, PROBE_RTT sees the new
     * minimum, and the rate is kept. */
    sim_init(&s, T2U_CC_BBR, ten);
    sim_run(&s, s.now + 3000000);
    s.link.rtt = 60000;
    sim_run(&s, s.now + 12000000);
    rate = mbps(sim_run(&s, s.now + 2000000), 2000000);
    printf("rtt 20->60 ms: min_rtt %llu us, %.2f MB/s, cwnd %llu\n", (unsigned long long)s.cc.min_rtt, rate,
           (unsigned long long)t2u_cc_window(&s.cc));
    CHECK(s.cc.min_rtt >= 60000 && s.cc.min_rtt <= 62000);
    CHECK(rate > 8.5);
    CHECK(t2u_cc_window(&s.cc) >= 600000); /* two BDPs of the new path (10 MB/s x 60 ms) */
    /* ... and back (60 -> 20 ms): a lower sample counts at once (the old path's inflight is a
     * standing queue now, so samples still include some of it), the rate is kept, and the next
     * PROBE_RTT drains the queue down to the path's minimum. */
    s.link.rtt = 20000;
    rate = mbps(sim_run(&s, s.now + 2000000), 2000000);
    printf("rtt 60->20 ms: min_rtt %llu us, %.2f MB/s\n", (unsigned long long)s.cc.min_rtt, rate);
    CHECK(s.cc.min_rtt < 45000);
    CHECK(rate > 8.5);
    rate = mbps(sim_run(&s, s.now + 12000000), 12000000);
    printf("  after the min-RTT window: min_rtt %llu us, max rtt %llu us, %.2f MB/s\n", (unsigned long long)s.cc.min_rtt,
           (unsigned long long)s.max_rtt, rate);
    CHECK(s.cc.min_rtt >= 20000 && s.cc.min_rtt <= 22000);
    CHECK(rate > 8.5);

    /* A fast, short path (100 MB/s, 2 ms): startup and the window keep up. */
    const link_t fast = {100000000, 2000, 2000, 0};
    sim_init(&s, T2U_CC_BBR, fast);
    sim_run(&s, s.now + 500000);
    rate = mbps(sim_run(&s, s.now + 1000000), 1000000);
    printf("fast link: %.1f MB/s\n", rate);
    CHECK(rate > 85.0);

    /* Pacing by batches: at 150 MB/s one packet's tokens take 8 us; a sender held only by the
     * pacer wakes for a batch of about 250 us of sending, not per packet, and keeps the rate. */
    t2u_cc q;
    t2u_cc_init(&q, T2U_CC_NEWRENO, MSS, 100000, 1000);
    uint64_t qnow = 1000000, qsends = 0, qwakes = 0, qrate = t2u_cc_pacing_rate(&q, 100);
    CHECK(qrate == 150000000);
    while (qnow < 1100000) {
        uint64_t d = t2u_cc_pacing_deadline(&q, qnow, MSS, 100);
        if (d > qnow) {
            CHECK(d - qnow >= 100 || qwakes == 0); /* a batch: 250 us of tokens, minus what is left */
            qnow = d;
            qwakes++;
            continue;
        }
        t2u_cc_snap qs;
        t2u_cc_on_sent(&q, qnow, MSS, 0, 100, &qs);
        qsends++;
    }
    printf("pacer at 150 MB/s: %llu packets in 100 ms, %llu wake-ups\n", (unsigned long long)qsends,
           (unsigned long long)qwakes);
    CHECK(qsends * MSS >= 14800000 && qsends * MSS <= 15200000);
    CHECK(qwakes * 20 < qsends);

    /* The pacer: a full bucket lets a burst go, then asks for a later time (a batch). */
    t2u_cc p;
    t2u_cc_init(&p, T2U_CC_BBR, MSS, 100000, 1000);
    uint64_t now = 5000000, srtt = 100000;
    uint64_t prate = t2u_cc_pacing_rate(&p, srtt); /* 2.885 x 12000 B / 100 ms = ~346 kB/s */
    CHECK(prate > 340000 && prate < 350000);
    t2u_cc_snap snap;
    int burst = 0;
    while (t2u_cc_pacing_deadline(&p, now, MSS, srtt) == now && burst < 100) {
        t2u_cc_on_sent(&p, now, MSS, (uint64_t)burst * MSS, srtt, &snap);
        burst++;
    }
    CHECK(burst == 10); /* ten packets at low rates */
    uint64_t next = t2u_cc_pacing_deadline(&p, now, MSS, srtt);
    CHECK(next > now && next <= now + MSS * 1000000ull / prate + 1);

    /* A new path while the old one still has a packet in flight (a migration early in a link):
     * the model starts afresh but the delivery-rate clock carries on, so the first ACKs on the
     * new path measure it (8 packets in 3 ms), not the time since boot (600 s: 16 bytes/s, which
     * paced the link to a halt). */
    t2u_cc m;
    t2u_cc_init(&m, T2U_CC_BBR, MSS, 100000, 1000);
    uint64_t t0 = 600000000;
    t2u_cc_snap old_snap, new_snap[8];
    t2u_cc_on_sent(&m, t0, MSS, 0, srtt, &old_snap);
    t2u_cc_reset_for_new_path(&m);
    CHECK(t2u_cc_window(&m) == m.initial_window && m.bw.v[0] == 0);
    for (int i = 0; i < 8; i++) t2u_cc_on_sent(&m, t0 + 1000, MSS, MSS * (1 + (uint64_t)i), srtt, &new_snap[i]);
    t2u_cc_ack ma;
    t2u_cc_ack_begin(&ma, t0 + 3000, 9 * MSS);
    for (int i = 0; i < 8; i++) t2u_cc_ack_packet(&m, &ma, &new_snap[i], t0 + 1000, MSS);
    t2u_cc_ack_end(&m, &ma, 2000, MSS);
    printf("first sample on a new path: %llu bytes/s\n", (unsigned long long)m.bw.v[0]);
    CHECK(m.bw.v[0] >= 3000000 && m.bw.v[0] <= 3300000);
    CHECK(t2u_cc_pacing_deadline(&m, t0 + 3000, MSS, 2000) == t0 + 3000);

    /* A slow rate and a deficit (probes sent over the pacer): 500 bytes/s, 10 packets in the
     * bucket and 10 more, the next one after 26.4 s, waking at most 1 s apart; the bucket must
     * keep filling past the longest wait, or a deficit above 1 s of tokens is never paid. */
    t2u_cc slow;
    t2u_cc_init(&slow, T2U_CC_NEWRENO, MSS, 100000, 1000);
    uint64_t slow_srtt = 30000000, snow = 1000000;
    CHECK(t2u_cc_pacing_rate(&slow, slow_srtt) == 500);
    for (int i = 0; i < 20; i++) t2u_cc_on_sent(&slow, snow, MSS, 0, slow_srtt, &snap);
    uint64_t swait = snow;
    int swakes = 0;
    for (uint64_t d; (d = t2u_cc_pacing_deadline(&slow, swait, MSS, slow_srtt)) > swait && swakes < 100; swakes++) {
        CHECK(d <= swait + 1000000);
        swait = d;
    }
    printf("pacer at 500 bytes/s, 20 packets sent at once: the next after %llu ms, %d wake-ups\n",
           (unsigned long long)(swait - snow) / 1000, swakes);
    CHECK(swait - snow >= 26400000 && swait - snow <= 26500000 && swakes <= 30);

    /* Persistent congestion: back to the minimum window. */
    t2u_cc_on_persistent_congestion(&p);
    CHECK(t2u_cc_window(&p) == 4 * MSS);

    /* NewReno: one halving per round trip. */
    t2u_cc_init(&p, T2U_CC_NEWRENO, MSS, 100000, 1000);
    uint64_t w = t2u_cc_window(&p);
    t2u_cc_on_lost(&p, now, now - 50000, MSS);
    CHECK(t2u_cc_window(&p) == w / 2);
    t2u_cc_on_lost(&p, now + 10, now - 40000, MSS); /* sent before the reduction: no second one */
    CHECK(t2u_cc_window(&p) == w / 2);
    printf("test_cc: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
