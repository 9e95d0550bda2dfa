/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Sliding-window duplicate detection over 64-bit counters (ReplayWindow): a ring bitmap of the
 * last 8192 numbers up to the highest marked. Check before decrypting, mark after the tag. */
#ifndef T2U_REPLAY_H
#define T2U_REPLAY_H

#include <stdint.h>

#define T2U_REPLAY_SIZE 8192u

typedef struct {
    uint64_t bits[T2U_REPLAY_SIZE / 64];
    uint64_t highest;
    int marked;
} t2u_replay;

void t2u_replay_init(t2u_replay *w);
int t2u_replay_fresh(const t2u_replay *w, uint64_t n);
void t2u_replay_mark(t2u_replay *w, uint64_t n);

#endif
