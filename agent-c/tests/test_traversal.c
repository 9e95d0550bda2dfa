/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The device's traversal plan (TraversalPlanner, role device) and the punch budget: scope,
 * strategies per NAT pair, prediction, the birthday sockets and spray, bounds, time order. */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "traversal.h"

#include "check.h"

static const t2u_nat UNKNOWN = {0, 0}, NONE = {1, 0}, EI = {2, 0}, RANDOM = {3, 4321}, SEQ2 = {3, 2}, SEQ1 = {3, 1};
static const t2u_addr OBSERVED = {.family = 4, .ip = {198, 51, 100, 7}, .port = 4000};

typedef struct {
    int punches, opens, open_count, aux, spray, predicted, candidates, out_of_order;
    uint64_t first_nat_ms, last_ms;
    uint16_t predicted_ports[64];
    uint8_t spray_seen[8192];
    int spray_dups, spray_off_range, off_host, bad_socket;
} tally;

/* Runs a plan to its end on a 1 ms clock. */
static void run(t2u_punch_plan *p, tally *t, int sockets) {
    memset(t, 0, sizeof *t);
    t->first_nat_ms = UINT64_MAX;
    t2u_punch_action a;
    for (uint64_t now = p->started_ms; now <= p->started_ms + 12000; now++) {
        uint64_t due = t2u_punch_deadline(p);
        while (t2u_punch_poll(p, now, &a) > 0) {
            if (due > now || due < t->last_ms) t->out_of_order++;
            t->last_ms = due;
            due = t2u_punch_deadline(p);
            if (a.kind == T2U_ACT_OPEN_SOCKETS) {
                t->opens++;
                t->open_count = a.count;
                continue;
            }
            t->punches++;
            if (memcmp(a.to.ip, OBSERVED.ip, 4) != 0 && a.strategy != T2U_STRAT_CANDIDATES) t->off_host++;
            if (a.strategy != T2U_STRAT_CANDIDATES && now < t->first_nat_ms) t->first_nat_ms = now;
            if (a.socket < 0 || a.socket > sockets) t->bad_socket++;
            if (a.socket) {
                t->aux++;
                if (!t2u_addr_equal(&a.to, &OBSERVED)) t->off_host++;
            } else if (a.strategy == T2U_STRAT_BIRTHDAY) {
                if (t->spray_seen[a.to.port >> 3] & (1u << (a.to.port & 7))) t->spray_dups++;
                t->spray_seen[a.to.port >> 3] |= (uint8_t)(1u << (a.to.port & 7));
                if (a.to.port < 1024) t->spray_off_range++;
                t->spray++;
            } else if (a.strategy == T2U_STRAT_PREDICTION) {
                if (t->predicted < 64) t->predicted_ports[t->predicted] = a.to.port;
                t->predicted++;
            } else {
                t->candidates++;
            }
        }
    }
}

static int plan(t2u_punch_plan *p, t2u_nat local, t2u_nat client, const t2u_traversal_config *cfg) {
    t2u_addr cands[1] = {{.family = 4, .ip = {203, 0, 113, 9}, .port = 5000}};
    uint32_t sub_addr[1] = {0xCB007101u}, sub_mask[1] = {0xFFFFFF00u};
    t2u_punch_plan_init(p, 42, &OBSERVED, cands, 1, sub_addr, sub_mask, 1, NULL, 0, 1000);
    return t2u_punch_plan_strategies(p, local, client, cfg);
}

int main(void) {
    if (t2u_crypto_init() != 0) return 1;
    t2u_traversal_config cfg;
    t2u_traversal_config_default(&cfg);
    static t2u_punch_plan p;
    static tally t;

    /* Scope: the observed address and in-scope candidates only, 6 rounds, then done. */
    t2u_addr cands[4] = {{.family = 4, .ip = {203, 0, 113, 9}, .port = 5000},   /* our subnet: kept */
                         {.family = 4, .ip = {192, 0, 2, 5}, .port = 5000},     /* elsewhere: dropped */
                         {.family = 4, .ip = {203, 0, 113, 255}, .port = 5000}, /* broadcast: dropped */
                         {.family = 4, .ip = {198, 51, 100, 7}, .port = 4001}}; /* observed host: kept */
    uint32_t sub_addr[1] = {0xCB007101u}, sub_mask[1] = {0xFFFFFF00u};
    CHECK(t2u_punch_plan_init(&p, 0x1122334455667788ull, &OBSERVED, cands, 4, sub_addr, sub_mask, 1, NULL, 0, 0) == 3);
    CHECK(t2u_addr_equal(&p.targets[2], &OBSERVED)); /* LAN candidates first, the reflexive address last */
    CHECK(t2u_punch_plan_strategies(&p, UNKNOWN, UNKNOWN, &cfg) == T2U_STRAT_CANDIDATES);
    run(&p, &t, 0);
    CHECK(t.punches == 3 * T2U_PUNCH_ROUNDS && t.candidates == t.punches && !p.live && t.out_of_order == 0);
    uint8_t punch[T2U_PUNCH_LEN];
    t2u_punch_write(punch, 0x1122334455667788ull);
    CHECK(punch[0] == 0x10 && t2u_be64(punch + 1) == 0x1122334455667788ull);

    /* Strategies per NAT pair (TraversalPlanner.strategies). */
    CHECK(t2u_traversal_strategies(EI, RANDOM) == (T2U_STRAT_CANDIDATES | T2U_STRAT_BIRTHDAY));
    CHECK(t2u_traversal_strategies(RANDOM, EI) == (T2U_STRAT_CANDIDATES | T2U_STRAT_BIRTHDAY));
    CHECK(t2u_traversal_strategies(RANDOM, RANDOM) == (T2U_STRAT_CANDIDATES | T2U_STRAT_RELAY_ONLY));
    CHECK(t2u_traversal_strategies(RANDOM, SEQ2) == (T2U_STRAT_CANDIDATES | T2U_STRAT_RELAY_ONLY));
    CHECK(t2u_traversal_strategies(EI, SEQ2) == (T2U_STRAT_CANDIDATES | T2U_STRAT_PREDICTION));
    CHECK(t2u_traversal_strategies(SEQ1, SEQ2) == (T2U_STRAT_CANDIDATES | T2U_STRAT_PREDICTION));
    CHECK(t2u_traversal_strategies(NONE, RANDOM) == T2U_STRAT_CANDIDATES); /* birthday needs a cone, not "none" */
    CHECK(t2u_traversal_strategies(EI, EI) == T2U_STRAT_CANDIDATES);
    CHECK(t2u_traversal_strategies(UNKNOWN, RANDOM) == T2U_STRAT_CANDIDATES);
    CHECK(t2u_nat_predictable((t2u_nat){3, -16}) && !t2u_nat_predictable((t2u_nat){3, 17}) && t2u_nat_random((t2u_nat){3, 0}));

    /* We are random, the client a cone: K auxiliary sockets after the strategy delay, each
     * punching the client's reflexive address in 5 rounds; the candidate rounds as before. */
    CHECK(plan(&p, RANDOM, EI, &cfg) & T2U_STRAT_BIRTHDAY);
    run(&p, &t, 256);
    CHECK(t.opens == 1 && t.open_count == 256 && t.aux == 256 * 5 && t.spray == 0 && t.bad_socket == 0);
    CHECK(t.candidates == 2 * T2U_PUNCH_ROUNDS && t.off_host == 0 && t.out_of_order == 0 && t.first_nat_ms == 1300);
    CHECK(t.last_ms <= 1000 + 300 + 4000);
    /* ... configurable down to none. */
    cfg.birthday_sockets = 0;
    plan(&p, RANDOM, EI, &cfg);
    run(&p, &t, 0);
    CHECK(t.opens == 0 && t.aux == 0 && t.punches == 2 * T2U_PUNCH_ROUNDS);
    t2u_traversal_config_default(&cfg);

    /* The client random, we a cone: 2048 punches to distinct random ports of its IP, 1 ms apart. */
    plan(&p, EI, RANDOM, &cfg);
    run(&p, &t, 0);
    CHECK(t.spray == 2048 && t.spray_dups == 0 && t.spray_off_range == 0 && t.off_host == 0 && t.opens == 0);
    CHECK(t.out_of_order == 0 && t.first_nat_ms == 1300 && t.last_ms == 1300 + 2047);
    CHECK(t.punches == 2 * T2U_PUNCH_ROUNDS + 2048 && t.punches <= cfg.max_punches);

    /* Both random, or random x sequential: relay only, the candidates still run. */
    CHECK(plan(&p, RANDOM, SEQ2, &cfg) & T2U_STRAT_RELAY_ONLY);
    run(&p, &t, 0);
    CHECK(t.punches == t.candidates && t.candidates == 2 * T2U_PUNCH_ROUNDS);

    /* Prediction toward a sequential client (delta 2): reflexive + 2k, k = 1...16, 3 rounds. */
    plan(&p, EI, SEQ2, &cfg);
    run(&p, &t, 0);
    CHECK(t.predicted == 16 * 3 && t.predicted_ports[0] == 4002 && t.predicted_ports[15] == 4032);
    CHECK(t.predicted_ports[16] == 4002 && t.first_nat_ms == 1300 && t.out_of_order == 0);
    /* Both sequential: our next mapping (index 2 + 2 targets) toward the client's of that index. */
    plan(&p, SEQ1, SEQ2, &cfg);
    run(&p, &t, 0);
    CHECK(t.predicted == 16 * 3 && t.predicted_ports[0] == 4000 + 4 * 2 && t.predicted_ports[1] == 4000 + 5 * 2);
    /* Ports beyond 65535 are skipped. */
    t2u_addr high = OBSERVED;
    high.port = 65530;
    t2u_punch_plan_init(&p, 1, &high, NULL, 0, NULL, NULL, 0, NULL, 0, 0);
    t2u_punch_plan_strategies(&p, EI, SEQ2, &cfg);
    CHECK(p.npredicted == 2 && p.predicted[1].port == 65534);

    /* The plan's bound: the latest punches beyond max_punches are left out. */
    cfg.max_punches = 20;
    plan(&p, EI, RANDOM, &cfg);
    run(&p, &t, 0);
    CHECK(t.punches == 20 && t.candidates == 6 && t.spray == 14); /* 3 candidate rounds before the spray's 1300 ms */
    t2u_traversal_config_default(&cfg);

    /* Nothing after the window. */
    cfg.window_ms = 1000;
    plan(&p, EI, RANDOM, &cfg);
    run(&p, &t, 0);
    CHECK(t.last_ms <= 2000 && t.spray == 1000 - 300 + 1 && !p.live);
    CHECK(!t2u_punch_window_ended(&p, 1999) && t2u_punch_window_ended(&p, 2000));
    t2u_traversal_config_default(&cfg);

    /* A direct path won: the NAT strategies stop, the candidate rounds go on. */
    plan(&p, EI, RANDOM, &cfg);
    t2u_punch_action a;
    int sprayed = 0;
    for (uint64_t now = 1000; now < 1400; now++)
        while (t2u_punch_poll(&p, now, &a) > 0) sprayed += a.strategy == T2U_STRAT_BIRTHDAY;
    CHECK(sprayed == 100);
    t2u_punch_plan_drop_nat(&p);
    run(&p, &t, 0);
    CHECK(t.spray == 0 && t.candidates > 0);

    /* Budget: per destination IP 2102 at once then ~210/s; device-wide 600 at once then 2500/s. */
    static t2u_punch_budget b;
    t2u_punch_budget_init(&b, 0);
    int sent = 0;
    for (int i = 0; i < 700; i++) sent += t2u_punch_budget_admit(&b, &OBSERVED, 0) == T2U_BUDGET_SEND;
    CHECK(sent == 600 && b.paced == 100);
    uint64_t now = 0;
    sent = 0;
    for (int i = 0; i < 3000; i++, now += (i % 2 == 0)) sent += t2u_punch_budget_admit(&b, &OBSERVED, now) == T2U_BUDGET_SEND;
    /* 2102 - 700 taken above (paced punches count against their destination too) + 1.5 s x 210.2 */
    CHECK(b.exhausted > 0 && sent >= 1712 && sent <= 1718);
    t2u_addr other = OBSERVED;
    other.ip[3] = 8;
    now += 1000; /* the pace refilled; this destination's bucket is its own */
    CHECK(t2u_punch_budget_admit(&b, &other, now) == T2U_BUDGET_SEND);
    CHECK(t2u_punch_budget_admit(&b, &OBSERVED, now) == T2U_BUDGET_SEND); /* ~210 refilled in 1 s */
    /* The table is bounded: the least recently used destination is replaced. */
    for (int i = 0; i < 2 * T2U_BUDGET_DESTINATIONS; i++) {
        other.ip[2] = (uint8_t)i;
        now += 1;
        t2u_punch_budget_admit(&b, &other, now);
    }
    CHECK(b.ndest == T2U_BUDGET_DESTINATIONS);

    /* A client punch is answered once per address, from the observed host only, at most
     * T2U_PUNCH_ANSWERS times, while the window lasts (the planned punches may be over). */
    {
        t2u_punch_plan p;
        uint32_t addr = 0xC0000201, mask = 0xFFFFFF00; /* 192.0.2.1/24 */
        t2u_punch_plan_init(&p, 9, &OBSERVED, NULL, 0, &addr, &mask, 1, NULL, 0, 500);
        t2u_addr aux = OBSERVED;
        aux.port = 31000;
        CHECK(t2u_punch_plan_answer(&p, &aux, 600) == 1);
        CHECK(t2u_punch_plan_answer(&p, &aux, 700) == 0); /* once */
        t2u_addr stranger = aux;
        stranger.ip[3] = 99;
        CHECK(t2u_punch_plan_answer(&p, &stranger, 700) == 0); /* another host */
        p.live = 0;                                           /* planned punches over */
        for (int i = 1; i < T2U_PUNCH_ANSWERS; i++) {
            aux.port = (uint16_t)(31000 + i);
            CHECK(t2u_punch_plan_answer(&p, &aux, 800) == 1);
        }
        aux.port = 40000;
        CHECK(t2u_punch_plan_answer(&p, &aux, 800) == 0); /* the cap */
        t2u_punch_plan_init(&p, 9, &OBSERVED, NULL, 0, &addr, &mask, 1, NULL, 0, 500);
        CHECK(t2u_punch_plan_answer(&p, &aux, 500 + 10000) == 0); /* the window ended */
        CHECK(t2u_punch_plan_answer(&p, &aux, 500 + 9999) == 1);
    }

    printf("test_traversal: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
