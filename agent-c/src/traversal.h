/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The device's side of one introduced session's path discovery (TraversalPlanner, role device),
 * sans-IO: which punches to send, from which socket, when; and the device-wide punch budget
 * across introductions (PunchBudget). Punch = 0x10 | sessionID(8) | random(4).
 * - candidates: rounds at 0, 100, 250, 500, 1000 and 2000 ms toward the client's reflexive
 *   address and its candidates that PunchScope allows (the observed host, unicast hosts of our
 *   IPv4 and IPv6 subnets, and at most 2 global IPv6 hosts), so our NAT opens for the client's
 *   probes;
 * - prediction (strategy delay later): toward a sequential endpoint-dependent client, its next
 *   ports (reflexive + k * delta; when we are sequential too, our k-th new mapping toward the
 *   client's k-th port, k counted from registration: main 0, observation 1, then each target);
 * - birthday (exactly one side random endpoint-dependent, the other endpoint-independent): we
 *   random -> K auxiliary sockets each punching the client's reflexive address in 5 rounds; the
 *   client random -> N punches to distinct random ports of its IP, paced;
 * - both endpoint-dependent with one random: relay only (the candidates still run).
 * Everything ends with the window (10 s); at most max_punches per plan. */
#ifndef T2U_TRAVERSAL_H
#define T2U_TRAVERSAL_H

#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "codec.h"

#define T2U_PUNCH_TARGETS (T2U_MAX_CANDIDATES + 1)
#define T2U_PUNCH_ROUNDS 6
#define T2U_PUNCH_LEN 13
#define T2U_PUNCH_ANSWERS 16 /* DeviceTraversal.maxAnswers */
#define T2U_PREDICTED_MAX 16
#define T2U_SPRAY_MAX 2048
#define T2U_BIRTHDAY_SOCKETS_MAX 512 /* EndpointDriver.maxAuxiliarySockets */

/* TraversalConfig (the device's part). */
typedef struct {
    int birthday_sockets;   /* K, 0...T2U_BIRTHDAY_SOCKETS_MAX (0: no auxiliary sockets) */
    int spray_count;        /* N, 0...T2U_SPRAY_MAX */
    int spray_rate;         /* punches per second */
    int predicted_ports;    /* 1...T2U_PREDICTED_MAX */
    uint64_t strategy_delay_ms, window_ms;
    int max_punches;
    uint16_t spray_lo, spray_hi;
} t2u_traversal_config;

/* The defaults of TraversalConfig: K 256, N 2048 at 1000/s over 1024-65535, 16 predicted ports,
 * 300 ms strategy delay, 10 s window, 2102 punches. */
void t2u_traversal_config_default(t2u_traversal_config *c);

enum { T2U_STRAT_CANDIDATES = 1, T2U_STRAT_PREDICTION = 2, T2U_STRAT_BIRTHDAY = 4, T2U_STRAT_RELAY_ONLY = 8 };
/* TraversalPlanner.strategies: a bit set of the above. */
int t2u_traversal_strategies(t2u_nat local, t2u_nat peer);
int t2u_nat_predictable(t2u_nat n); /* endpoint-dependent with 0 < |delta| <= 16 */
int t2u_nat_random(t2u_nat n);      /* endpoint-dependent without a usable delta */

enum { T2U_ACT_PUNCH = 1, T2U_ACT_OPEN_SOCKETS = 2 };
typedef struct {
    int kind;
    t2u_addr to;    /* PUNCH */
    int socket;     /* PUNCH: 0 main, 1...K auxiliary (in the order OPEN_SOCKETS made them) */
    int count;      /* OPEN_SOCKETS */
    int strategy;   /* T2U_STRAT_* that planned it */
} t2u_punch_action;

typedef struct {
    int live, strategies;
    uint64_t session_id, started_ms, nat_at_ms, window_ms;
    int max_punches, punches;
    /* candidates */
    t2u_addr targets[T2U_PUNCH_TARGETS];
    int ntargets, round, next_target;
    /* prediction */
    t2u_addr predicted[T2U_PREDICTED_MAX];
    int npredicted, pred_round, pred_next;
    /* birthday: auxiliary sockets (we are random) or spray (the client is) */
    t2u_addr reflexive;
    int sockets, opened, aux_round, aux_next;
    int nspray, spray_next, spray_rate;
    uint16_t spray[T2U_SPRAY_MAX];
    /* client punches answered (t2u_punch_plan_answer) */
    t2u_addr answered[T2U_PUNCH_ANSWERS];
    int nanswered;
} t2u_punch_plan;

/* The candidate rounds. subnets: our IPv4 (addr, mask) pairs in host order, and our IPv6
 * subnets. Returns the number of candidate targets kept (the observed address and in-scope
 * candidates: PunchScope, with at most T2U_SCOPE_GLOBAL_V6 global IPv6 hosts). */
#define T2U_SCOPE_GLOBAL_V6 2 /* PunchScope.maxGlobalIPv6 */
int t2u_punch_plan_init(t2u_punch_plan *p, uint64_t session_id, const t2u_addr *observed, const t2u_addr *candidates,
                        size_t ncandidates, const uint32_t *subnet_addr, const uint32_t *subnet_mask, int nsubnets,
                        const t2u_subnet6 *subnets6, int nsubnets6, uint64_t now);
/* Adds the NAT strategies for our NAT and the client's (INTRODUCE's clientNAT); returns
 * t2u_traversal_strategies. Call once, right after init. */
int t2u_punch_plan_strategies(t2u_punch_plan *p, t2u_nat local, t2u_nat client, const t2u_traversal_config *cfg);
/* The next action due at `now` (1, written to *a) or 0. A punch's datagram: t2u_punch_write. */
int t2u_punch_poll(t2u_punch_plan *p, uint64_t now, t2u_punch_action *a);
uint64_t t2u_punch_deadline(const t2u_punch_plan *p);
/* A direct path to this client is in use: prediction and birthday stop (candidates go on). */
void t2u_punch_plan_drop_nat(t2u_punch_plan *p);
/* The window is over (auxiliary sockets not carrying a session may close). */
int t2u_punch_window_ended(const t2u_punch_plan *p, uint64_t now);
/* A punch of this plan's client came from `from` (a mapping of one of its auxiliary sockets:
 * our spray may have reached that port before it existed, when the client waited). 1: answer it
 * with one punch back through the socket it reached (once per address, at most
 * T2U_PUNCH_ANSWERS, from the client's observed host only, while the window lasts). */
int t2u_punch_plan_answer(t2u_punch_plan *p, const t2u_addr *from, uint64_t now);
void t2u_punch_write(uint8_t out[T2U_PUNCH_LEN], uint64_t session_id);
/* PunchScope.allows without its global IPv6 hosts: the observed host, or a unicast host of one of
 * our subnets (IPv4 or IPv6). */
int t2u_punch_scope_allows(const t2u_addr *a, const t2u_addr *observed, const uint32_t *addr, const uint32_t *mask, int n,
                           const t2u_subnet6 *subnets6, int nsubnets6);

/* PunchBudget: per destination IP 2102 punches per 10 s (burst 2102; a table of
 * T2U_BUDGET_DESTINATIONS IPs, the least recently used replaced), device-wide 2500/s burst 600. */
#define T2U_BUDGET_DESTINATIONS 64
enum { T2U_BUDGET_SEND = 0, T2U_BUDGET_DESTINATION_EXHAUSTED = 1, T2U_BUDGET_PACED = 2 };
typedef struct {
    struct { uint8_t family, ip[16]; t2u_bucket bucket; uint64_t used; } dest[T2U_BUDGET_DESTINATIONS];
    int ndest;
    t2u_bucket pace;
    double per_destination, window_s;
    uint64_t sent, exhausted, paced;
} t2u_punch_budget;

void t2u_punch_budget_init(t2u_punch_budget *b, uint64_t now);
/* Whether one punch to `to` may go now (counted). */
int t2u_punch_budget_admit(t2u_punch_budget *b, const t2u_addr *to, uint64_t now);

#endif
