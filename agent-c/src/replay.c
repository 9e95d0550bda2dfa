/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "replay.h"

#include <string.h>

#define WORD(n) ((size_t)(((n) % T2U_REPLAY_SIZE) / 64))
#define MASK(n) ((uint64_t)1 << ((n) % 64))

void t2u_replay_init(t2u_replay *w) { memset(w, 0, sizeof *w); }

int t2u_replay_fresh(const t2u_replay *w, uint64_t n) {
    if (!w->marked || n > w->highest) return 1;
    if (w->highest - n >= T2U_REPLAY_SIZE) return 0;
    return (w->bits[WORD(n)] & MASK(n)) == 0;
}

void t2u_replay_mark(t2u_replay *w, uint64_t n) {
    if (!w->marked) {
        w->marked = 1;
        w->highest = n;
    } else if (n > w->highest) {
        uint64_t advance = n - w->highest;
        if (advance >= T2U_REPLAY_SIZE) {
            memset(w->bits, 0, sizeof w->bits);
        } else {
            /* Forget the numbers sliding out: their slots are reused by the new ones. */
            for (uint64_t k = w->highest + 1; k <= n; k++) w->bits[WORD(k)] &= ~MASK(k);
        }
        w->highest = n;
    } else if (w->highest - n >= T2U_REPLAY_SIZE) {
        return;
    }
    w->bits[WORD(n)] |= MASK(n);
}
