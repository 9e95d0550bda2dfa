/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Token bucket on the caller's millisecond clock (TokenBucket): handshake and discovery budgets. */
#ifndef T2U_BUCKET_H
#define T2U_BUCKET_H

#include <stdint.h>

typedef struct { double tokens, rate, burst; uint64_t at_ms; } t2u_bucket;

void t2u_bucket_init(t2u_bucket *b, double rate, double burst, uint64_t now_ms);
/* Takes one token; 0 when empty. */
int t2u_bucket_take(t2u_bucket *b, uint64_t now_ms);

#endif
