/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: the key file's text (t2usvr --state, t2u-server --key-file) into t2u_key_text_parse,
 * and the svrkey text (4th argument, T2U_SERVER_KEY) into t2u_hex_key; a key that parsed is
 * written back as the key file writes it and parses to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char text[4097];
    uint8_t key[32], again[32];
    char line[66];
    size_t len;
    if (size >= sizeof text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (t2u_key_text_parse(text, key, &len) == 0) {
        if (len != 64) abort();
        t2u_hex_encode(line, key, 32);
        line[64] = '\n', line[65] = 0;
        if (t2u_key_text_parse(line, again, &len) != 0 || memcmp(key, again, 32) != 0) abort();
    } else if (len > strlen(text)) {
        abort();
    }
    if (t2u_hex_key(text, key) == 0) {
        t2u_hex_encode(line, key, 32);
        if (t2u_hex_key(line, again) != 0 || memcmp(key, again, 32) != 0) abort();
    }
    return 0;
}
