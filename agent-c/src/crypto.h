/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Crypto by composition of libsodium primitives (no hand-written ciphers): X25519,
 * ChaCha20-Poly1305 (IETF, 12-byte nonce), SHA-256, HMAC-SHA256, HKDF-SHA256 (RFC 5869) and the
 * Noise symmetric state shared by the signaling IK and the transport IKpsk2 handshakes. */
#ifndef T2U_CRYPTO_H
#define T2U_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

int t2u_crypto_init(void);
void t2u_random(void *p, size_t n);
uint32_t t2u_random_u32(void);
uint64_t t2u_random_u64(void);

/* X25519. Private keys are 32 raw bytes (clamped inside, as swift-crypto does). */
void t2u_x25519_keypair(uint8_t priv[32], uint8_t pub[32]);
int t2u_x25519_public(uint8_t pub[32], const uint8_t priv[32]);
/* -1 for a low-order peer key (all-zero shared secret), as BoringSSL refuses it. */
int t2u_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t peer[32]);

void t2u_sha256(uint8_t out[32], const void *p, size_t n);
void t2u_sha256_2(uint8_t out[32], const void *a, size_t na, const void *b, size_t nb);
void t2u_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const void *p, size_t n);
/* RFC 5869. out_len <= 255 * 32. */
void t2u_hkdf_extract(uint8_t prk[32], const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len);
void t2u_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[32], const void *info, size_t info_len);

/* ChaCha20-Poly1305 IETF: out = ciphertext || tag (len + 16). */
void t2u_aead_seal(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                   const uint8_t *plain, size_t len);
/* in = ciphertext || tag; -1 when it does not authenticate. out gets in_len - 16 bytes. */
int t2u_aead_open(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t in_len);

int t2u_ct_equal(const void *a, const void *b, size_t n);
void t2u_wipe(void *p, size_t n);

/* Noise SymmetricState: every cipher key used once, nonce zero. */
typedef struct {
    uint8_t ck[32], h[32], k[32];
    int has_key;
} t2u_noise;

/* h = ck = SHA256(name); mixHash(responder static). */
void t2u_noise_init(t2u_noise *s, const char *protocol_name, const uint8_t responder_static[32]);
void t2u_noise_mix_hash(t2u_noise *s, const void *p, size_t n);
void t2u_noise_mix_key(t2u_noise *s, const uint8_t *ikm, size_t n);
void t2u_noise_mix_key_and_hash(t2u_noise *s, const uint8_t *ikm, size_t n);
/* out gets n + 16 bytes. */
void t2u_noise_encrypt_and_hash(t2u_noise *s, uint8_t *out, const uint8_t *plain, size_t n);
/* out gets n - 16 bytes; -1 when it does not authenticate (the state is then unusable). */
int t2u_noise_decrypt_and_hash(t2u_noise *s, uint8_t *out, const uint8_t *in, size_t n);
void t2u_noise_split(const t2u_noise *s, uint8_t k1[32], uint8_t k2[32]);
/* Noise HKDF: extract(salt = ck, ikm), expand to outputs x 32 bytes with empty info. */
void t2u_noise_kdf(uint8_t *out, int outputs, const uint8_t ck[32], const uint8_t *ikm, size_t n);

#endif
