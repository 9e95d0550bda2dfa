/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Vendor certificate file (docs/protocol/identity.md): one line of 194 hex digits. Its Ed25519
 * signature is checked by the server (notEnrolled when it does not cover this UUID and key), not
 * here: Ed25519 and SHA-512 would add about 100 KB to the MIPS binary, a third of its budget. */
#ifndef T2U_IDENTITY_H
#define T2U_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define T2U_CERT_LEN 97

/* Parses the file text into cert; 0, or -1 with err. */
int t2u_cert_parse(const char *text, uint8_t cert[T2U_CERT_LEN], char *err, size_t errcap);

#endif
