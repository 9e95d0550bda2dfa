/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "identity.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

int t2u_cert_parse(const char *text, uint8_t cert[T2U_CERT_LEN], char *err, size_t errcap) {
    int found = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *line = p;
        p = nl ? nl + 1 : p + len;
        if (len && line[len - 1] == '\r') len--;
        if (len == 0 || line[0] == '#') continue;
        if (found) {
            snprintf(err, errcap, "more than one certificate line");
            return -1;
        }
        size_t bin_len;
        if (len != 2 * T2U_CERT_LEN || sodium_hex2bin(cert, T2U_CERT_LEN, line, len, NULL, &bin_len, NULL) != 0 ||
            bin_len != T2U_CERT_LEN) {
            snprintf(err, errcap, "wrongLength(%zu): expected one line of %d hex digits", len / 2, 2 * T2U_CERT_LEN);
            return -1;
        }
        found = 1;
    }
    if (!found) {
        snprintf(err, errcap, "no certificate line");
        return -1;
    }
    if (cert[0] != 1) {
        snprintf(err, errcap, "unknownVersion(%u)", cert[0]);
        return -1;
    }
    return 0;
}
