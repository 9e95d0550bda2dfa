/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* libFuzzer: the vendor certificate file (t2usvr --cert): its text into t2u_cert_parse; a
 * certificate that parsed is 97 bytes of version 1, written back as one hex line that parses to
 * the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char text[4096];
    uint8_t cert[T2U_CERT_LEN], again[T2U_CERT_LEN];
    char err[128], line[2 * T2U_CERT_LEN + 2];
    if (size >= sizeof text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* main.c reads the file as a C string: an embedded NUL ends it */
    if (t2u_cert_parse(text, cert, err, sizeof err) != 0) {
        if (!err[0] || strlen(err) >= sizeof err) abort();
        return 0;
    }
    if (cert[0] != 1) abort();
    t2u_hex_encode(line, cert, T2U_CERT_LEN);
    strcat(line, "\n");
    if (t2u_cert_parse(line, again, err, sizeof err) != 0 || memcmp(cert, again, T2U_CERT_LEN) != 0) abort();
    return 0;
}
