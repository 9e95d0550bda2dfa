// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

#include "packet_aead.h"

#if defined(__linux__)

// BoringSSL's EVP_AEAD API (include/openssl/aead.h), as swift-crypto's copy exports it. The
// types stay opaque here: only pointers to them cross.
struct evp_aead_st;
struct evp_aead_ctx_st;
extern const struct evp_aead_st *CCryptoBoringSSL_EVP_aead_chacha20_poly1305(void);
extern struct evp_aead_ctx_st *CCryptoBoringSSL_EVP_AEAD_CTX_new(const struct evp_aead_st *aead, const uint8_t *key,
                                                                  size_t key_len, size_t tag_len);
extern void CCryptoBoringSSL_EVP_AEAD_CTX_free(struct evp_aead_ctx_st *ctx);
extern int CCryptoBoringSSL_EVP_AEAD_CTX_seal_scatter(const struct evp_aead_ctx_st *ctx, uint8_t *out, uint8_t *out_tag,
                                                      size_t *out_tag_len, size_t max_out_tag_len, const uint8_t *nonce,
                                                      size_t nonce_len, const uint8_t *in, size_t in_len,
                                                      const uint8_t *extra_in, size_t extra_in_len, const uint8_t *ad,
                                                      size_t ad_len);
extern int CCryptoBoringSSL_EVP_AEAD_CTX_open_gather(const struct evp_aead_ctx_st *ctx, uint8_t *out,
                                                     const uint8_t *nonce, size_t nonce_len, const uint8_t *in,
                                                     size_t in_len, const uint8_t *in_tag, size_t in_tag_len,
                                                     const uint8_t *ad, size_t ad_len);

enum { key_length = 32, nonce_length = 12, tag_length = 16 };

packet_aead *packet_aead_new(const uint8_t *key) {
    return (packet_aead *)CCryptoBoringSSL_EVP_AEAD_CTX_new(CCryptoBoringSSL_EVP_aead_chacha20_poly1305(), key,
                                                            key_length, tag_length);
}

void packet_aead_free(packet_aead *aead) { CCryptoBoringSSL_EVP_AEAD_CTX_free((struct evp_aead_ctx_st *)aead); }

int packet_aead_seal(const packet_aead *aead, const uint8_t *nonce, uint8_t *data, size_t length, uint8_t *tag,
                     const uint8_t *ad, size_t ad_length) {
    size_t written = 0;
    int ok = CCryptoBoringSSL_EVP_AEAD_CTX_seal_scatter((const struct evp_aead_ctx_st *)aead, data, tag, &written,
                                                        tag_length, nonce, nonce_length, data, length, NULL, 0, ad,
                                                        ad_length);
    return ok == 1 && written == tag_length;
}

int packet_aead_open(const packet_aead *aead, const uint8_t *nonce, const uint8_t *in, size_t length,
                     const uint8_t *tag, uint8_t *out, const uint8_t *ad, size_t ad_length) {
    return CCryptoBoringSSL_EVP_AEAD_CTX_open_gather((const struct evp_aead_ctx_st *)aead, out, nonce, nonce_length,
                                                     in, length, tag, tag_length, ad, ad_length) == 1;
}

#endif
