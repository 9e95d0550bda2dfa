/* Vendor certificate file (docs/protocol/identity.md): one line of 194 hex digits, checked at
 * start against this UUID and device key (Ed25519 over "t2u device certificate v1" ...). */
#ifndef T2U_IDENTITY_H
#define T2U_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define T2U_CERT_LEN 97

/* Parses the file text into cert; 0, or -1 with err. */
int t2u_cert_parse(const char *text, uint8_t cert[T2U_CERT_LEN], char *err, size_t errcap);
/* 0 when the signature covers (uuid, device_key) under the CA key the certificate names. */
int t2u_cert_verify(const uint8_t cert[T2U_CERT_LEN], const char *uuid, const uint8_t device_key[32]);

#endif
