/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "handshake.h"

#include <string.h>

#include "crypto.h"

static const char ikpsk2_name[] = "t2u IKpsk2 X25519 ChaChaPoly SHA256 v2";
#define COOKIE_LIFETIME_MS 120000
#define REORDER_NS 10000000000ull
#define RECENT_LIMIT 16

static void labelled_hash(uint8_t out[32], const char *label, const uint8_t key[32]) {
    t2u_sha256_2(out, label, strlen(label), key, 32);
}

void t2u_hs_init(t2u_hs_responder *r, const uint8_t static_priv[32], const char *password, uint64_t now_ms,
                 double handshakes_per_second) {
    memset(r, 0, sizeof *r);
    memcpy(r->static_priv, static_priv, 32);
    t2u_x25519_public(r->static_pub, static_priv);
    labelled_hash(r->mac1_key, "t2u mac1 v2", r->static_pub);
    labelled_hash(r->cookie_key, "t2u cookie v2", r->static_pub);
    if (password && *password) {
        /* salt = SHA-256("t2u password v2" | S_r); psk / proofKey = HKDF(password, salt, info) */
        uint8_t salt[32], prk[32];
        labelled_hash(salt, "t2u password v2", r->static_pub);
        t2u_hkdf_extract(prk, salt, 32, (const uint8_t *)password, strlen(password));
        t2u_hkdf_expand(r->psk, 32, prk, "psk", 3);
        t2u_hkdf_expand(r->proof_key, 32, prk, "proof", 5);
        t2u_wipe(prk, sizeof prk);
        r->has_password = 1;
    }
    t2u_random(r->cookie_secret, 32);
    r->cookie_rotated_ms = now_ms;
    double rate = handshakes_per_second > 0 ? handshakes_per_second : 200;
    t2u_bucket_init(&r->unproven, rate / 2, rate / 2, now_ms);
    t2u_bucket_init(&r->global, rate, rate, now_ms);
}

void t2u_hs_cookie(uint8_t out[16], const uint8_t secret[32], const t2u_addr *a) {
    uint8_t enc[19], mac[32];
    size_t n = 0;
    enc[n++] = a->family;
    memcpy(enc + n, a->ip, a->family == 6 ? 16 : 4);
    n += a->family == 6 ? 16 : 4;
    enc[n++] = (uint8_t)(a->port >> 8);
    enc[n++] = (uint8_t)a->port;
    t2u_hmac_sha256(mac, secret, 32, enc, n);
    memcpy(out, mac, 16);
}

static void rotate_cookie(t2u_hs_responder *r, uint64_t now) {
    if (now - r->cookie_rotated_ms < COOKIE_LIFETIME_MS) return;
    /* Long idle: both old secrets are stale. */
    r->has_previous = now - r->cookie_rotated_ms < 2 * COOKIE_LIFETIME_MS;
    memcpy(r->cookie_previous, r->cookie_secret, 32);
    t2u_random(r->cookie_secret, 32);
    r->cookie_rotated_ms = now;
}

static int mac2_valid(const t2u_hs_responder *r, const uint8_t *d, const t2u_addr *from) {
    uint8_t cookie[16], mac[32];
    for (int i = 0; i < 2; i++) {
        if (i == 1 && !r->has_previous) break;
        t2u_hs_cookie(cookie, i ? r->cookie_previous : r->cookie_secret, from);
        t2u_hmac_sha256(mac, cookie, 16, d, T2U_INIT_MAC2_OFF);
        if (t2u_ct_equal(mac, d + T2U_INIT_MAC2_OFF, 16)) return 1;
    }
    return 0;
}

/* The source's /24 (IPv4) or /64 (IPv6) bucket; the least recently used prefix is replaced. */
static t2u_bucket *prefix_bucket(t2u_hs_responder *r, const t2u_addr *from, uint64_t now) {
    uint8_t prefix[9] = {from->family};
    memcpy(prefix + 1, from->ip, from->family == 6 ? 8 : 3);
    size_t victim = 0;
    for (size_t i = 0; i < T2U_PREFIXES; i++) {
        if (r->prefixes[i].live && memcmp(r->prefixes[i].prefix, prefix, sizeof prefix) == 0) {
            r->prefixes[i].used = ++r->use_clock;
            return &r->prefixes[i].bucket;
        }
        if (r->prefixes[victim].live && (!r->prefixes[i].live || r->prefixes[i].used < r->prefixes[victim].used)) victim = i;
    }
    memcpy(r->prefixes[victim].prefix, prefix, sizeof prefix);
    r->prefixes[victim].live = 1;
    r->prefixes[victim].used = ++r->use_clock;
    t2u_bucket_init(&r->prefixes[victim].bucket, 20, 40, now);
    return &r->prefixes[victim].bucket;
}

static int ts_less(uint64_t as, uint32_t ans, uint64_t bs, uint32_t bns) { return as < bs || (as == bs && ans < bns); }

/* newest - t in nanoseconds, saturating. */
static uint64_t ts_gap(uint64_t ns_s, uint32_t ns_ns, uint64_t s, uint32_t n) {
    if (ts_less(ns_s, ns_ns, s, n)) return 0;
    uint64_t ds = ns_s - s;
    if (ds > 9000000000ull) return UINT64_MAX;
    return ds * 1000000000ull + ns_ns - n;
}

int t2u_hs_replay_accept(t2u_hs_responder *r, const uint8_t key[32], uint64_t s, uint32_t ns) {
    t2u_replay_record *rec = NULL, *victim = &r->replay[0];
    for (size_t i = 0; i < T2U_REPLAY_KEYS; i++) {
        if (r->replay[i].used && memcmp(r->replay[i].key, key, 32) == 0) {
            rec = &r->replay[i];
            break;
        }
        if (r->replay[i].used < victim->used) victim = &r->replay[i];
    }
    if (!rec) {
        memset(victim, 0, sizeof *victim);
        memcpy(victim->key, key, 32);
        victim->newest_s = s, victim->newest_ns = ns;
        victim->recent_s[0] = s, victim->recent_ns[0] = ns;
        victim->nrecent = 1;
        victim->used = ++r->use_clock;
        return 1;
    }
    rec->used = ++r->use_clock;
    if (rec->has_floor && !ts_less(rec->floor_s, rec->floor_ns, s, ns)) return 0;
    if (ts_less(rec->newest_s, rec->newest_ns, s, ns)) {
        rec->newest_s = s, rec->newest_ns = ns;
    } else {
        if (ts_gap(rec->newest_s, rec->newest_ns, s, ns) > REORDER_NS) return 0;
        for (int i = 0; i < rec->nrecent; i++)
            if (rec->recent_s[i] == s && rec->recent_ns[i] == ns) return 0;
    }
    rec->recent_s[rec->nrecent] = s, rec->recent_ns[rec->nrecent] = ns;
    rec->nrecent++;
    /* Forget those aged out of the allowance, then bound the set (the smallest becomes the floor). */
    int k = 0;
    for (int i = 0; i < rec->nrecent; i++)
        if (ts_gap(rec->newest_s, rec->newest_ns, rec->recent_s[i], rec->recent_ns[i]) <= REORDER_NS) {
            rec->recent_s[k] = rec->recent_s[i], rec->recent_ns[k] = rec->recent_ns[i];
            k++;
        }
    rec->nrecent = k;
    if (rec->nrecent > RECENT_LIMIT) {
        int m = 0;
        for (int i = 1; i < rec->nrecent; i++)
            if (ts_less(rec->recent_s[i], rec->recent_ns[i], rec->recent_s[m], rec->recent_ns[m])) m = i;
        if (!rec->has_floor || ts_less(rec->floor_s, rec->floor_ns, rec->recent_s[m], rec->recent_ns[m]))
            rec->floor_s = rec->recent_s[m], rec->floor_ns = rec->recent_ns[m];
        rec->has_floor = 1;
        rec->recent_s[m] = rec->recent_s[rec->nrecent - 1], rec->recent_ns[m] = rec->recent_ns[rec->nrecent - 1];
        rec->nrecent--;
    }
    return 1;
}

int t2u_hs_respond(t2u_hs_responder *r, const uint8_t *d, size_t len, const t2u_addr *from, uint64_t now,
                   uint64_t local_cid, const uint8_t *params, size_t params_len, uint8_t *reply, size_t *reply_len,
                   t2u_hs_session *session) {
    uint8_t mac[32];
    *reply_len = 0;
    if (len != T2U_INITIATION_LEN || d[0] != 0x01 || params_len > T2U_HS_MAX_PAYLOAD) {
        r->malformed++;
        return T2U_HS_DROP;
    }
    t2u_hmac_sha256(mac, r->mac1_key, 32, d, T2U_INIT_MAC1_OFF);
    if (!t2u_ct_equal(mac, d + T2U_INIT_MAC1_OFF, 16)) {
        r->failing_mac1++;
        return T2U_HS_DROP;
    }
    /* Budgets before any DH. */
    rotate_cookie(r, now);
    if (!mac2_valid(r, d, from) && !t2u_bucket_take(&r->unproven, now)) {
        uint8_t cookie[16], nonce[12];
        t2u_hs_cookie(cookie, r->cookie_secret, from);
        t2u_random(nonce, 12);
        reply[0] = 0x06;
        memcpy(reply + 1, d + 1, 8);
        memcpy(reply + 9, nonce, 12);
        t2u_aead_seal(reply + 21, r->cookie_key, nonce, d + T2U_INIT_MAC1_OFF, 16, cookie, 16);
        *reply_len = T2U_COOKIE_REPLY_LEN;
        r->cookie_replies++;
        return T2U_HS_COOKIE;
    }
    if (!t2u_bucket_take(prefix_bucket(r, from, now), now) || !t2u_bucket_take(&r->global, now)) {
        r->rate_limited++;
        return T2U_HS_DROP;
    }

    /* Message 1: e, es, s, ss, payload. */
    t2u_noise n;
    uint8_t dh[32], peer_static[32], plain[T2U_INIT_PAYLOAD_PLAIN], proof_transcript[32];
    const uint8_t *e = d + 9;
    t2u_noise_init(&n, ikpsk2_name, r->static_pub);
    t2u_noise_mix_hash(&n, d, 9);
    t2u_noise_mix_hash(&n, e, 32);
    if (t2u_x25519(dh, r->static_priv, e) != 0) goto malformed;
    t2u_noise_mix_key(&n, dh, 32);
    if (t2u_noise_decrypt_and_hash(&n, peer_static, d + 41, 48) != 0) goto malformed;
    if (t2u_x25519(dh, r->static_priv, peer_static) != 0) goto malformed;
    t2u_noise_mix_key(&n, dh, 32);
    memcpy(proof_transcript, n.h, 32);
    if (t2u_noise_decrypt_and_hash(&n, plain, d + 89, T2U_INIT_PAYLOAD_PLAIN + 16) != 0) goto malformed;
    uint8_t flags = plain[0];
    uint64_t ts_s = t2u_be64(plain + 1);
    uint32_t ts_ns = t2u_be32(plain + 9);
    size_t plen = t2u_be16(plain + 45);
    if ((flags & ~1u) || ts_ns >= 1000000000u || plen > T2U_HS_MAX_PAYLOAD) goto malformed;
    if (!t2u_hs_replay_accept(r, peer_static, ts_s, ts_ns)) {
        r->replayed++;
        return T2U_HS_DROP;
    }

    int password_ok = 0;
    if (r->has_password) {
        t2u_hmac_sha256(mac, r->proof_key, 32, proof_transcript, 32);
        password_ok = (flags & 1) && t2u_ct_equal(mac, plain + 13, 32);
    }
    uint8_t eph_priv[32], eph_pub[32];
    t2u_x25519_keypair(eph_priv, eph_pub);
    size_t off;
    if (r->has_password && !password_ok) {
        /* HANDSHAKE_REJECTION: type icid rcid e_r encReason; no psk (the initiator may not know it). */
        reply[0] = 0x03;
        memcpy(reply + 1, d + 1, 8);
        t2u_wbe64(reply + 9, local_cid);
        t2u_noise_mix_hash(&n, reply, 17);
        off = 17;
    } else {
        reply[0] = 0x02;
        memcpy(reply + 1, d + 1, 8);
        t2u_wbe64(reply + 9, local_cid);
        reply[17] = r->has_password ? 1 : 0;
        t2u_noise_mix_hash(&n, reply, 18);
        off = 18;
    }
    memcpy(reply + off, eph_pub, 32);
    t2u_noise_mix_hash(&n, eph_pub, 32);
    off += 32;
    if (t2u_x25519(dh, eph_priv, e) != 0) goto malformed;
    t2u_noise_mix_key(&n, dh, 32); /* ee */
    if (t2u_x25519(dh, eph_priv, peer_static) != 0) goto malformed;
    t2u_noise_mix_key(&n, dh, 32); /* se */
    t2u_wipe(eph_priv, sizeof eph_priv);
    t2u_wipe(dh, sizeof dh);
    if (reply[0] == 0x03) {
        uint8_t reason = 1; /* password */
        t2u_noise_encrypt_and_hash(&n, reply + off, &reason, 1);
        *reply_len = off + 17;
        t2u_wipe(&n, sizeof n);
        r->rejected_password++;
        return T2U_HS_REJECTED;
    }
    static const uint8_t zero_psk[32];
    t2u_noise_mix_key_and_hash(&n, r->has_password ? r->psk : zero_psk, 32);
    t2u_noise_encrypt_and_hash(&n, reply + off, params, params_len);
    *reply_len = off + params_len + 16;
    t2u_noise_split(&n, session->recv_secret, session->send_secret);
    t2u_wipe(&n, sizeof n);
    session->peer_cid = t2u_be64(d + 1);
    memcpy(session->peer_static, peer_static, 32);
    memcpy(session->peer_params, plain + 47, plen);
    session->peer_params_len = plen;
    r->accepted++;
    return T2U_HS_ACCEPTED;
malformed:
    t2u_wipe(&n, sizeof n);
    r->malformed++;
    return T2U_HS_DROP;
}
