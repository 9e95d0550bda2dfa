#include "traversal.h"

#include <string.h>

#include "crypto.h"

static const uint64_t rounds_ms[T2U_PUNCH_ROUNDS] = {0, 100, 250, 500, 1000, 2000};

static uint32_t v4(const t2u_addr *a) {
    return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
}

/* PunchScope.allows: the host the server observed, or a unicast host of one of our subnets. */
static int allowed(const t2u_addr *a, const t2u_addr *observed, const uint32_t *addr, const uint32_t *mask, int n) {
    if (a->family != 4 || a->port == 0) return 0;
    if (observed->family == 4 && v4(a) == v4(observed)) return 1;
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
                        uint64_t now) {
    memset(p, 0, sizeof *p);
    p->live = 1;
    p->session_id = session_id;
    p->started_ms = now;
    if (observed->family == 4 && observed->port) p->targets[p->ntargets++] = *observed;
    for (size_t i = 0; i < ncandidates && p->ntargets < T2U_PUNCH_TARGETS; i++) {
        if (t2u_addr_equal(&candidates[i], observed)) continue;
        if (allowed(&candidates[i], observed, subnet_addr, subnet_mask, nsubnets)) p->targets[p->ntargets++] = candidates[i];
    }
    if (!p->ntargets) p->live = 0;
    return p->ntargets;
}

uint64_t t2u_punch_deadline(const t2u_punch_plan *p) {
    return p->live ? p->started_ms + rounds_ms[p->round] : UINT64_MAX;
}

size_t t2u_punch_poll(t2u_punch_plan *p, uint64_t now, uint8_t *out, t2u_addr *to) {
    if (!p->live || now < t2u_punch_deadline(p)) return 0;
    *to = p->targets[p->next_target];
    out[0] = 0x10;
    t2u_wbe64(out + 1, p->session_id);
    uint32_t r = t2u_random_u32();
    memcpy(out + 9, &r, 4);
    if (++p->next_target == p->ntargets) {
        p->next_target = 0;
        if (++p->round == T2U_PUNCH_ROUNDS) p->live = 0;
    }
    return T2U_PUNCH_LEN;
}
