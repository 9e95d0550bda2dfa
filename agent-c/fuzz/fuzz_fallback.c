/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: what a server (or anything on the way) sends down the TCP fallback stream, into
 * t2u_fb_feed. The first byte picks a chunk size: fed whole and in chunks, the outcome must be
 * the same (datagrams, their bytes, the upgrade once and first, the error); every datagram is
 * 1...4096 bytes; an error has a message. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fallback.h"

typedef struct {
    int upgrades, count, bad;
    uint8_t digest[32];
    crypto_hash_sha256_state h;
} tally;

static int note(void *ctx, uint8_t *d, size_t n) {
    tally *t = ctx;
    if (!d) {
        if (n || t->upgrades || t->count) t->bad = 1;
        t->upgrades++;
        return 0;
    }
    if (!t->upgrades || n == 0 || n > T2U_FB_MAX_FRAME) t->bad = 1;
    t->count++;
    uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    crypto_hash_sha256_update(&t->h, len, 2);
    crypto_hash_sha256_update(&t->h, d, n);
    return 0;
}

static int run(const uint8_t *p, size_t n, size_t chunk, tally *t, char *err) {
    static t2u_fb_rx r;
    memset(&r, 0, sizeof r);
    memset(t, 0, sizeof *t);
    crypto_hash_sha256_init(&t->h);
    err[0] = 0;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = t2u_fb_feed(&r, p + off, n - off < chunk ? n - off : chunk, note, t, err, 200);
    crypto_hash_sha256_final(&t->h, t->digest);
    if (rc == -1 && !err[0]) abort();
    if (r.have > sizeof r.buf) abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tally whole, split;
    char e1[200], e2[200];
    if (size < 1) return 0;
    size_t chunk = (size_t)data[0] % 64 + 1;
    int a = run(data + 1, size - 1, size, &whole, e1);
    int b = run(data + 1, size - 1, chunk, &split, e2);
    if (whole.bad || split.bad || a != b || whole.count != split.count || whole.upgrades != split.upgrades ||
        memcmp(whole.digest, split.digest, 32) != 0 || strcmp(e1, e2) != 0)
        abort();
    return 0;
}
