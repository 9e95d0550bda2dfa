/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: the allow policy (t2usvr --allow entries): the input split at newlines into entries,
 * parsed; a policy that parsed is asked about addresses taken from the input. */
#include <string.h>

#include "forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char text[4096];
    static t2u_policy policy;
    const char *entries[40];
    size_t n = 0;
    if (size >= sizeof text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    for (char *p = text; n < 40;) {
        entries[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    char err[256];
    if (t2u_policy_parse(&policy, entries, n, err, sizeof err) != 0) return 0;
    uint8_t ip[16] = {0};
    memcpy(ip, data, size < 16 ? size : 16);
    (void)t2u_policy_allows(&policy, 4, ip, (uint16_t)size);
    (void)t2u_policy_allows(&policy, 6, ip, (uint16_t)(size * 7));
    return 0;
}
