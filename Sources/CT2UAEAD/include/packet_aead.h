// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

// ChaCha20-Poly1305 packet protection without per-packet allocations: one BoringSSL
// EVP_AEAD_CTX per key, sealed and opened in place. swift-crypto's ChaChaPoly builds a context,
// a combined nonce|ciphertext|tag copy and a Data for every call, which cost several times the
// cipher itself per packet. The BoringSSL is the one swift-crypto links (its symbols carry the
// CCryptoBoringSSL_ prefix); only T2UCore uses this module, and it links Crypto. Linux only:
// elsewhere swift-crypto wraps the platform's CryptoKit and has no BoringSSL to call. Names are
// not t2u_*: libt2u.so exports exactly those of t2u.h (scripts/libt2u.map).
#ifndef T2U_PACKET_AEAD_H
#define T2U_PACKET_AEAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct packet_aead packet_aead;

// A context for a 32-byte key, or NULL if it could not be made (out of memory).
packet_aead *packet_aead_new(const uint8_t *key);
void packet_aead_free(packet_aead *aead);

// Encrypts `length` bytes at `data` in place and writes the 16-byte tag to `tag` (which must
// not overlap `data`). `nonce` is 12 bytes; `ad` is authenticated, not encrypted. 1 on success.
int packet_aead_seal(const packet_aead *aead, const uint8_t *nonce, uint8_t *data, size_t length, uint8_t *tag,
                     const uint8_t *ad, size_t ad_length);

// Decrypts `length` bytes from `in` into `out` (the same pointer, or not overlapping) if the
// 16-byte `tag` authenticates them and `ad`. 1 on success; 0 and `out` zeroed otherwise.
int packet_aead_open(const packet_aead *aead, const uint8_t *nonce, const uint8_t *in, size_t length,
                     const uint8_t *tag, uint8_t *out, const uint8_t *ad, size_t ad_length);

#endif
