/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "traversal.h"

#include <string.h>

#include "crypto.h"
#include "net.h"

static const uint64_t rounds_ms[T2U_PUNCH_ROUNDS] = {0, 100, 250, 500, 1000, 2000};
/* Predicted ports twice more: the client's mappings may open after our first punch arrived. */
static const uint64_t pred_rounds_ms[3] = {0, 400, 1000};
/* From every auxiliary socket: keeps the K mappings open and covers the client's spray. */
static const uint64_t aux_rounds_ms[5] = {0, 500, 1000, 2000, 4000};

void t2u_traversal_config_default(t2u_traversal_config *c) {
    c->birthday_sockets = 256;
    c->spray_count = T2U_SPRAY_MAX;
    c->spray_rate = 1000;
    c->predicted_ports = T2U_PREDICTED_MAX;
    c->strategy_delay_ms = 300;
    c->window_ms = 10000;
    c->max_punches = T2U_PUNCH_TARGETS * T2U_PUNCH_ROUNDS + T2U_SPRAY_MAX;
    c->spray_lo = 1024;
    c->spray_hi = 65535;
}

int t2u_nat_predictable(t2u_nat n) { return n.kind == 3 && n.delta != 0 && n.delta >= -16 && n.delta <= 16; }
int t2u_nat_random(t2u_nat n) { return n.kind == 3 && !t2u_nat_predictable(n); }

int t2u_traversal_strategies(t2u_nat local, t2u_nat peer) {
    int s = T2U_STRAT_CANDIDATES;
    if ((t2u_nat_random(local) && peer.kind == 3) || (t2u_nat_random(peer) && local.kind == 3)) return s | T2U_STRAT_RELAY_ONLY;
    if (t2u_nat_predictable(local) || t2u_nat_predictable(peer)) s |= T2U_STRAT_PREDICTION;
    if ((t2u_nat_random(local) && peer.kind == 2) || (t2u_nat_random(peer) && local.kind == 2)) s |= T2U_STRAT_BIRTHDAY;
    return s;
}

static uint32_t v4(const t2u_addr *a) {
    return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
}

static int same_host(const t2u_addr *a, const t2u_addr *b) {
    return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

int t2u_punch_scope_allows(const t2u_addr *a, const t2u_addr *observed, const uint32_t *addr, const uint32_t *mask, int n,
                           const t2u_subnet6 *subnets6, int nsubnets6) {
    if ((a->family != 4 && a->family != 6) || a->port == 0) return 0;
    if (same_host(a, observed)) return 1;
    if (a->family == 6) {
        for (int i = 0; i < nsubnets6; i++)
            if (t2u_in_subnet6(a->ip, &subnets6[i])) return 1;
        return 0;
    }
    uint32_t x = v4(a);
    for (int i = 0; i < n; i++) {
        uint32_t host = ~mask[i];
        if ((x & mask[i]) != (addr[i] & mask[i])) continue;
        if (host >= 3 && ((x & host) == 0 || (x & host) == host)) continue;
        return 1;
    }
    return 0;
}

int t2u_punch_plan_init(t2u_punch_plan *p, uint64_t session_id, const t2u_addr *observed, const t2u_addr *candidates,
                        size_t ncandidates, const uint32_t *subnet_addr, const uint32_t *subnet_mask, int nsubnets,
                        const t2u_subnet6 *subnets6, int nsubnets6, uint64_t now) {
    memset(p, 0, sizeof *p);
    p->live = 1;
    p->strategies = T2U_STRAT_CANDIDATES;
    p->session_id = session_id;
    p->started_ms = now;
    p->window_ms = 10000;
    p->max_punches = T2U_PUNCH_TARGETS * T2U_PUNCH_ROUNDS + T2U_SPRAY_MAX;
    p->round = T2U_PUNCH_ROUNDS;
    p->pred_round = 3;
    p->aux_round = 5;
    /* PunchScope's global IPv6 hosts: the first T2U_SCOPE_GLOBAL_V6 distinct ones named that are
     * neither the observed host nor on our subnets (IPv6 has no NAT: a host's global address is
     * its public one even when it registered over IPv4). */
    t2u_addr global6[T2U_SCOPE_GLOBAL_V6];
    int nglobal6 = 0;
    for (size_t i = 0; i < ncandidates; i++) {
        const t2u_addr *c = &candidates[i];
        int known = t2u_punch_scope_allows(c, observed, subnet_addr, subnet_mask, nsubnets, subnets6, nsubnets6);
        for (int k = 0; k < nglobal6; k++) known |= same_host(c, &global6[k]);
        if (!known && c->family == 6 && (c->ip[0] & 0xE0) == 0x20 && c->port && nglobal6 < T2U_SCOPE_GLOBAL_V6)
            global6[nglobal6++] = *c;
    }
    /* LAN candidates first, then the reflexive address (Builder.candidates). */
    for (size_t i = 0; i < ncandidates && p->ntargets < T2U_PUNCH_TARGETS - 1; i++) {
        int dup = t2u_addr_equal(&candidates[i], observed);
        for (int k = 0; k < p->ntargets; k++) dup |= t2u_addr_equal(&candidates[i], &p->targets[k]);
        int allowed = t2u_punch_scope_allows(&candidates[i], observed, subnet_addr, subnet_mask, nsubnets, subnets6, nsubnets6);
        for (int k = 0; k < nglobal6; k++) allowed |= same_host(&candidates[i], &global6[k]);
        if (!dup && allowed) p->targets[p->ntargets++] = candidates[i];
    }
    if ((observed->family == 4 || observed->family == 6) && observed->port) {
        p->targets[p->ntargets++] = *observed;
        p->reflexive = *observed;
    }
    if (p->ntargets) p->round = 0;
    else p->live = 0;
    return p->ntargets;
}

int t2u_punch_plan_strategies(t2u_punch_plan *p, t2u_nat local, t2u_nat client, const t2u_traversal_config *cfg) {
    int s = t2u_traversal_strategies(local, client);
    p->strategies = s;
    p->window_ms = cfg->window_ms;
    p->max_punches = cfg->max_punches;
    p->nat_at_ms = p->started_ms + cfg->strategy_delay_ms;
    if (s & T2U_STRAT_RELAY_ONLY || p->reflexive.family != 4) return s;
    if (s & T2U_STRAT_PREDICTION && t2u_nat_predictable(client)) {
        /* Our NAT's allocation index of the next new destination: main 0, observation 1, then
         * one per candidate target. Paired (both sequential): the client's mapping of that index. */
        int paired = t2u_nat_predictable(local), next_allocation = 2 + p->ntargets;
        int n = cfg->predicted_ports < 1 ? 1 : cfg->predicted_ports > T2U_PREDICTED_MAX ? T2U_PREDICTED_MAX : cfg->predicted_ports;
        for (int k = 1; k <= n; k++) {
            long index = paired ? next_allocation + p->npredicted : k;
            long port = (long)p->reflexive.port + index * client.delta;
            if (port < 1 || port > 65535) continue;
            t2u_addr t = p->reflexive;
            t.port = (uint16_t)port;
            int dup = 0;
            for (int i = 0; i < p->npredicted; i++) dup |= t2u_addr_equal(&t, &p->predicted[i]);
            for (int i = 0; i < p->ntargets; i++) dup |= t2u_addr_equal(&t, &p->targets[i]);
            if (!dup) p->predicted[p->npredicted++] = t;
        }
        if (p->npredicted) p->pred_round = 0;
    }
    if (s & T2U_STRAT_BIRTHDAY) {
        if (t2u_nat_random(local)) {
            int k = cfg->birthday_sockets > T2U_BIRTHDAY_SOCKETS_MAX ? T2U_BIRTHDAY_SOCKETS_MAX : cfg->birthday_sockets;
            if (k > 0) {
                p->sockets = k;
                p->aux_round = 0;
                p->aux_next = 1;
            }
        } else {
            /* Distinct random ports of the client's IP (at most 4N draws, as the Swift planner). */
            static uint8_t seen[8192];
            memset(seen, 0, sizeof seen);
            int n = cfg->spray_count > T2U_SPRAY_MAX ? T2U_SPRAY_MAX : cfg->spray_count;
            uint32_t lo = cfg->spray_lo, span = cfg->spray_hi >= cfg->spray_lo ? (uint32_t)cfg->spray_hi - lo + 1 : 0;
            for (int draws = 0; span && p->nspray < n && draws < n * 4; draws++) {
                uint16_t port = (uint16_t)(lo + t2u_random_u64() % span);
                if (seen[port >> 3] & (1u << (port & 7))) continue;
                seen[port >> 3] |= (uint8_t)(1u << (port & 7));
                p->spray[p->nspray++] = port;
            }
            p->spray_rate = cfg->spray_rate > 0 ? cfg->spray_rate : 1;
        }
    }
    p->live = 1;
    return s;
}

/* The next item of each stream, in the Swift plan's insertion order (its tie-break). */
enum { S_CAND, S_PRED, S_OPEN, S_AUX, S_SPRAY, S_COUNT };

static uint64_t stream_time(const t2u_punch_plan *p, int s) {
    switch (s) {
    case S_CAND: return p->round < T2U_PUNCH_ROUNDS ? p->started_ms + rounds_ms[p->round] : UINT64_MAX;
    case S_PRED: return p->pred_round < 3 ? p->nat_at_ms + pred_rounds_ms[p->pred_round] : UINT64_MAX;
    case S_OPEN: return p->sockets && !p->opened ? p->nat_at_ms : UINT64_MAX;
    case S_AUX: return p->sockets && p->opened && p->aux_round < 5 ? p->nat_at_ms + aux_rounds_ms[p->aux_round] : UINT64_MAX;
    default:
        return p->spray_next < p->nspray ? p->nat_at_ms + (uint64_t)p->spray_next * 1000 / (uint64_t)p->spray_rate : UINT64_MAX;
    }
}

static int next_stream(const t2u_punch_plan *p, uint64_t *at) {
    int best = -1;
    *at = UINT64_MAX;
    for (int s = 0; s < S_COUNT; s++) {
        uint64_t t = stream_time(p, s);
        if (t < *at) *at = t, best = s;
    }
    return best;
}

uint64_t t2u_punch_deadline(const t2u_punch_plan *p) {
    uint64_t at;
    if (!p->live) return UINT64_MAX;
    next_stream(p, &at);
    return at;
}

int t2u_punch_window_ended(const t2u_punch_plan *p, uint64_t now) { return now >= p->started_ms + p->window_ms; }

int t2u_punch_plan_answer(t2u_punch_plan *p, const t2u_addr *from, uint64_t now) {
    /* not `live`: that ends with the last planned punch, the client's may come later */
    if (t2u_punch_window_ended(p, now) || p->nanswered >= T2U_PUNCH_ANSWERS || !from->port ||
        !same_host(from, &p->reflexive))
        return 0;
    for (int i = 0; i < p->nanswered; i++)
        if (t2u_addr_equal(&p->answered[i], from)) return 0;
    p->answered[p->nanswered++] = *from;
    return 1;
}

void t2u_punch_plan_drop_nat(t2u_punch_plan *p) {
    p->pred_round = 3;
    p->aux_round = 5;
    p->spray_next = p->nspray;
    if (!p->opened) p->sockets = 0;
}

int t2u_punch_poll(t2u_punch_plan *p, uint64_t now, t2u_punch_action *a) {
    uint64_t at;
    if (!p->live) return 0;
    int s = next_stream(p, &at);
    if (s < 0 || now > p->started_ms + p->window_ms) {
        p->live = 0;
        return 0;
    }
    if (now < at) return 0;
    memset(a, 0, sizeof *a);
    a->kind = T2U_ACT_PUNCH;
    switch (s) {
    case S_CAND:
        a->to = p->targets[p->next_target];
        a->strategy = T2U_STRAT_CANDIDATES;
        if (++p->next_target == p->ntargets) p->next_target = 0, p->round++;
        break;
    case S_PRED:
        a->to = p->predicted[p->pred_next];
        a->strategy = T2U_STRAT_PREDICTION;
        if (++p->pred_next == p->npredicted) p->pred_next = 0, p->pred_round++;
        break;
    case S_OPEN:
        a->kind = T2U_ACT_OPEN_SOCKETS;
        a->count = p->sockets;
        a->strategy = T2U_STRAT_BIRTHDAY;
        p->opened = 1;
        return 1;
    case S_AUX:
        a->to = p->reflexive;
        a->socket = p->aux_next;
        a->strategy = T2U_STRAT_BIRTHDAY;
        if (++p->aux_next > p->sockets) p->aux_next = 1, p->aux_round++;
        break;
    default:
        a->to = p->reflexive;
        a->to.port = p->spray[p->spray_next++];
        a->strategy = T2U_STRAT_BIRTHDAY;
        break;
    }
    /* The plan's bound: the latest punches beyond it are left out. */
    if (++p->punches >= p->max_punches) p->round = T2U_PUNCH_ROUNDS, t2u_punch_plan_drop_nat(p);
    return 1;
}

void t2u_punch_write(uint8_t out[T2U_PUNCH_LEN], uint64_t session_id) {
    out[0] = 0x10;
    t2u_wbe64(out + 1, session_id);
    uint32_t r = t2u_random_u32();
    memcpy(out + 9, &r, 4);
}

void t2u_punch_budget_init(t2u_punch_budget *b, uint64_t now) {
    memset(b, 0, sizeof *b);
    b->per_destination = T2U_PUNCH_TARGETS * T2U_PUNCH_ROUNDS + T2U_SPRAY_MAX;
    b->window_s = 10;
    t2u_bucket_init(&b->pace, 2500, 600, now);
}

int t2u_punch_budget_admit(t2u_punch_budget *b, const t2u_addr *to, uint64_t now) {
    size_t iplen = to->family == 6 ? 16 : 4;
    int slot = -1;
    for (int i = 0; i < b->ndest && slot < 0; i++)
        if (b->dest[i].family == to->family && memcmp(b->dest[i].ip, to->ip, iplen) == 0) slot = i;
    if (slot < 0) {
        if (b->ndest < T2U_BUDGET_DESTINATIONS) slot = b->ndest++;
        else {
            slot = 0;
            for (int i = 1; i < b->ndest; i++)
                if (b->dest[i].used < b->dest[slot].used) slot = i;
        }
        b->dest[slot].family = to->family;
        memcpy(b->dest[slot].ip, to->ip, iplen);
        t2u_bucket_init(&b->dest[slot].bucket, b->per_destination / b->window_s, b->per_destination, now);
    }
    b->dest[slot].used = now;
    if (!t2u_bucket_take(&b->dest[slot].bucket, now)) {
        b->exhausted++;
        return T2U_BUDGET_DESTINATION_EXHAUSTED;
    }
    if (!t2u_bucket_take(&b->pace, now)) {
        b->paced++;
        return T2U_BUDGET_PACED;
    }
    b->sent++;
    return T2U_BUDGET_SEND;
}
