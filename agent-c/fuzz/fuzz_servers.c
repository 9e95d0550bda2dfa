/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: the server list (t2usvr's <server> and <port>: "h1:p1,[v6]:p2,h3") into the parser
 * of t2u_resolve_servers, numeric hosts only (no DNS lookups while fuzzing). What it returns is
 * a list of distinct IPv4/IPv6 addresses with ports, each printable. */
#include <stdlib.h>
#include <string.h>

#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char text[2048];
    t2u_addr out[16];
    char err[512], buf[64];
    if (size < 2 || size >= sizeof text) return 0;
    uint16_t default_port = (uint16_t)(data[0] << 8 | data[1]);
    memcpy(text, data + 2, size - 2);
    text[size - 2] = 0;
    int n = t2u_resolve_servers_ex(text, default_port, 1, out, 16, err, sizeof err);
    if (n < 0) {
        if (!err[0]) abort();
        return 0;
    }
    if (n == 0 || n > 16) abort();
    for (int i = 0; i < n; i++) {
        if ((out[i].family != 4 && out[i].family != 6) || out[i].port == 0) abort();
        t2u_addr_str(&out[i], buf, sizeof buf);
        for (int k = 0; k < i; k++)
            if (t2u_addr_equal(&out[i], &out[k])) abort();
    }
    return 0;
}
