/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */

/*
 * test_support.h - what the C ABI test programs share: PASS/FAIL lines with a tally, required
 * environment parameters (set by Tests/cabi/run.sh), a monotonic clock and a millisecond sleep.
 * Static inline so each program compiles it in without unused-function warnings.
 */
#ifndef T2U_TEST_SUPPORT_H
#define T2U_TEST_SUPPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int passed, failed;

static inline void check(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (ok) passed++; else failed++;
}

/* A parameter the test cannot run without: exits 2 naming it and who sets it. */
static inline const char *env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s not set (run Tests/cabi/run.sh)\n", name);
        exit(2);
    }
    return v;
}

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
