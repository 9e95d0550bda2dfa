/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "bucket.h"

void t2u_bucket_init(t2u_bucket *b, double rate, double burst, uint64_t now) {
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->at_ms = now;
}

int t2u_bucket_take(t2u_bucket *b, uint64_t now) {
    if (now > b->at_ms) {
        b->tokens += (double)(now - b->at_ms) / 1000.0 * b->rate;
        if (b->tokens > b->burst) b->tokens = b->burst;
        b->at_ms = now;
    }
    if (b->tokens < 1.0) return 0;
    b->tokens -= 1.0;
    return 1;
}
