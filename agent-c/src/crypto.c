/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "crypto.h"

#include <string.h>
#include <sodium.h>

int t2u_crypto_init(void) { return sodium_init() < 0 ? -1 : 0; }
void t2u_random(void *p, size_t n) { randombytes_buf(p, n); }
uint32_t t2u_random_u32(void) { return randombytes_random(); }
uint64_t t2u_random_u64(void) {
    uint64_t v;
    randombytes_buf(&v, sizeof v);
    return v;
}

void t2u_x25519_keypair(uint8_t priv[32], uint8_t pub[32]) {
    randombytes_buf(priv, 32);
    crypto_scalarmult_base(pub, priv);
}

int t2u_x25519_public(uint8_t pub[32], const uint8_t priv[32]) { return crypto_scalarmult_base(pub, priv); }

int t2u_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t peer[32]) {
    return crypto_scalarmult(out, priv, peer) == 0 ? 0 : -1;
}

void t2u_sha256(uint8_t out[32], const void *p, size_t n) { crypto_hash_sha256(out, p, n); }

void t2u_sha256_2(uint8_t out[32], const void *a, size_t na, const void *b, size_t nb) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, a, na);
    crypto_hash_sha256_update(&st, b, nb);
    crypto_hash_sha256_final(&st, out);
}

void t2u_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len, const void *p, size_t n) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, p, n);
    crypto_auth_hmacsha256_final(&st, out);
}

void t2u_hkdf_extract(uint8_t prk[32], const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len) {
    static const uint8_t zero[32];
    if (salt_len == 0) {
        salt = zero;
        salt_len = 32;
    }
    t2u_hmac_sha256(prk, salt, salt_len, ikm, ikm_len);
}

void t2u_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[32], const void *info, size_t info_len) {
    uint8_t t[32];
    size_t tlen = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, prk, 32);
        crypto_auth_hmacsha256_update(&st, t, tlen);
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &i, 1);
        crypto_auth_hmacsha256_final(&st, t);
        tlen = 32;
        size_t n = out_len - done < 32 ? out_len - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(t, sizeof t);
}

void t2u_aead_seal(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                   const uint8_t *plain, size_t len) {
    unsigned long long clen;
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, plain, len, ad, ad_len, NULL, nonce, key);
}

int t2u_aead_open(uint8_t *out, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t in_len) {
    unsigned long long mlen;
    if (in_len < 16) return -1;
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, in_len, ad, ad_len, nonce, key) == 0 ? 0 : -1;
}

int t2u_ct_equal(const void *a, const void *b, size_t n) { return sodium_memcmp(a, b, n) == 0; }
void t2u_wipe(void *p, size_t n) { sodium_memzero(p, n); }

void t2u_noise_kdf(uint8_t *out, int outputs, const uint8_t ck[32], const uint8_t *ikm, size_t n) {
    uint8_t prk[32];
    t2u_hkdf_extract(prk, ck, 32, ikm, n);
    t2u_hkdf_expand(out, (size_t)outputs * 32, prk, "", 0);
    sodium_memzero(prk, sizeof prk);
}

void t2u_noise_init(t2u_noise *s, const char *protocol_name, const uint8_t responder_static[32]) {
    memset(s, 0, sizeof *s);
    t2u_sha256(s->h, protocol_name, strlen(protocol_name));
    memcpy(s->ck, s->h, 32);
    t2u_noise_mix_hash(s, responder_static, 32);
}

void t2u_noise_mix_hash(t2u_noise *s, const void *p, size_t n) { t2u_sha256_2(s->h, s->h, 32, p, n); }

void t2u_noise_mix_key(t2u_noise *s, const uint8_t *ikm, size_t n) {
    uint8_t out[64];
    t2u_noise_kdf(out, 2, s->ck, ikm, n);
    memcpy(s->ck, out, 32);
    memcpy(s->k, out + 32, 32);
    s->has_key = 1;
    sodium_memzero(out, sizeof out);
}

void t2u_noise_mix_key_and_hash(t2u_noise *s, const uint8_t *ikm, size_t n) {
    uint8_t out[96];
    t2u_noise_kdf(out, 3, s->ck, ikm, n);
    memcpy(s->ck, out, 32);
    t2u_noise_mix_hash(s, out + 32, 32);
    memcpy(s->k, out + 64, 32);
    s->has_key = 1;
    sodium_memzero(out, sizeof out);
}

static const uint8_t zero_nonce[12];

void t2u_noise_encrypt_and_hash(t2u_noise *s, uint8_t *out, const uint8_t *plain, size_t n) {
    t2u_aead_seal(out, s->k, zero_nonce, s->h, 32, plain, n);
    s->has_key = 0;
    t2u_noise_mix_hash(s, out, n + 16);
}

int t2u_noise_decrypt_and_hash(t2u_noise *s, uint8_t *out, const uint8_t *in, size_t n) {
    if (!s->has_key || n < 16) return -1;
    s->has_key = 0;
    if (t2u_aead_open(out, s->k, zero_nonce, s->h, 32, in, n) != 0) return -1;
    t2u_noise_mix_hash(s, in, n);
    return 0;
}

void t2u_noise_split(const t2u_noise *s, uint8_t k1[32], uint8_t k2[32]) {
    uint8_t out[64];
    t2u_noise_kdf(out, 2, s->ck, NULL, 0);
    memcpy(k1, out, 32);
    memcpy(k2, out + 32, 32);
    sodium_memzero(out, sizeof out);
}
