/* The device's punches for one introduced session (TraversalPlanner, role device, candidate
 * strategy only): rounds at 0, 100, 250, 500, 1000 and 2000 ms toward the client's reflexive
 * address and its candidates that PunchScope allows (the observed host, or unicast hosts of our
 * subnets), so our NAT opens for the client's probes. Punch = 0x10 | sessionID(8) | random(4).
 * Not implemented: port prediction and the birthday spray (auxiliary sockets). */
#ifndef T2U_TRAVERSAL_H
#define T2U_TRAVERSAL_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define T2U_PUNCH_TARGETS (T2U_MAX_CANDIDATES + 1)
#define T2U_PUNCH_ROUNDS 6
#define T2U_PUNCH_LEN 13

typedef struct {
    int live;
    uint64_t session_id, started_ms;
    t2u_addr targets[T2U_PUNCH_TARGETS];
    int ntargets, round, next_target;
} t2u_punch_plan;

/* subnets: our IPv4 (addr, mask) pairs in host order. Returns the number of targets kept. */
int t2u_punch_plan_init(t2u_punch_plan *p, uint64_t session_id, const t2u_addr *observed, const t2u_addr *candidates,
                        size_t ncandidates, const uint32_t *subnet_addr, const uint32_t *subnet_mask, int nsubnets,
                        uint64_t now);
/* The next punch due (datagram in out, T2U_PUNCH_LEN bytes) or 0. */
size_t t2u_punch_poll(t2u_punch_plan *p, uint64_t now, uint8_t *out, t2u_addr *to);
uint64_t t2u_punch_deadline(const t2u_punch_plan *p);

#endif
