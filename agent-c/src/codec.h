/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Signaling v2 wire codec (docs/protocol/channel.md): bounds-checked byte cursor and writer,
 * addresses, NAT field, and every signaling message's layout. Integers are big endian. */
#ifndef T2U_CODEC_H
#define T2U_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define T2U_KEY_LEN 32
#define T2U_TAG_LEN 16
#define T2U_COOKIE_LEN 20
#define T2U_MAX_UUID 64
#define T2U_MAX_EXTRA 512
#define T2U_MAX_CERT 512
#define T2U_MAX_CANDIDATES 8
/* The most a server may ask a side to wait before it punches (punch order, docs/protocol/messages.md). */
#define T2U_MAX_PUNCH_DELAY_MS 2000
#define T2U_MAX_ENCRYPTED 1400
#define T2U_MIN_PADDED 64
#define T2U_MIN_SEARCH 96
#define T2U_REGISTER_HEADER 26
#define T2U_SEALED_HEADER 17

enum t2u_sig_type {
    T2U_HELLO = 0x20, T2U_CHALLENGE = 0x21, T2U_REGISTER = 0x22, T2U_REGISTERED = 0x23,
    T2U_ERROR = 0x24, T2U_KEEPALIVE = 0x25, T2U_KEEPALIVE_ACK = 0x26, T2U_QUERY = 0x27,
    T2U_QUERY_RESULT = 0x28, T2U_CONNECT = 0x29, T2U_CONNECT_RESULT = 0x2A, T2U_INTRODUCE = 0x2B,
    T2U_INTRODUCE_ACK = 0x2C, T2U_PROBE = 0x2D, T2U_PROBE_RESULT = 0x2E, T2U_SEARCH = 0x2F,
    T2U_SEARCH_REPLY = 0x30, T2U_PATH_REPORT = 0x31, T2U_RELAY_UNKNOWN = 0x32, T2U_SEALED = 0x33
};

enum t2u_sig_error {
    T2U_ERR_SERVER_KEY_REJECTED = 1, T2U_ERR_MALFORMED = 2, T2U_ERR_RATE_LIMITED = 3,
    T2U_ERR_UNKNOWN_SESSION = 4, T2U_ERR_BAD_COOKIE = 5, T2U_ERR_DEVICE_OFFLINE = 6,
    T2U_ERR_CAPACITY = 7, T2U_ERR_IDENTITY_CONFLICT = 8, T2U_ERR_NOT_ENROLLED = 9
};

enum t2u_role { T2U_ROLE_DEVICE = 1, T2U_ROLE_CLIENT = 2 };

/* family 4 or 6; ip holds 4 or 16 bytes (network order). */
typedef struct {
    uint8_t family;
    uint8_t ip[16];
    uint16_t port;
} t2u_addr;

/* An IPv6 subnet of ours: address and prefix length (punch scope, discovery), and the index of its
 * interface (discovery: the address a reply names; 0 unknown). */
typedef struct {
    uint8_t ip[16];
    uint8_t prefix;
    unsigned ifindex;
} t2u_subnet6;

/* kind: 0 unknown, 1 none, 2 endpoint-independent, 3 endpoint-dependent (delta). */
typedef struct {
    uint8_t kind;
    int32_t delta;
} t2u_nat;

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *error; /* the field that failed; NULL while fine */
} t2u_reader;

typedef struct {
    uint8_t *p;
    size_t cap, len;
    int overflow; /* set when a write did not fit (nothing past cap is written) */
} t2u_writer;

void t2u_reader_init(t2u_reader *r, const uint8_t *p, size_t len);
uint8_t t2u_get_u8(t2u_reader *r, const char *field);
uint16_t t2u_get_u16(t2u_reader *r, const char *field);
uint32_t t2u_get_u32(t2u_reader *r, const char *field);
uint64_t t2u_get_u64(t2u_reader *r, const char *field);
/* Points into the datagram; NULL (and r->error) when short. */
const uint8_t *t2u_get_bytes(t2u_reader *r, size_t n, const char *field);
int t2u_get_bool(t2u_reader *r, const char *field);
int t2u_get_addr(t2u_reader *r, t2u_addr *a, const char *field);
size_t t2u_reader_left(const t2u_reader *r);

void t2u_writer_init(t2u_writer *w, uint8_t *p, size_t cap);
void t2u_put_u8(t2u_writer *w, uint8_t v);
void t2u_put_u16(t2u_writer *w, uint16_t v);
void t2u_put_u32(t2u_writer *w, uint32_t v);
void t2u_put_u64(t2u_writer *w, uint64_t v);
void t2u_put_bytes(t2u_writer *w, const void *p, size_t n);
void t2u_put_zeros(t2u_writer *w, size_t n);
void t2u_put_addr(t2u_writer *w, const t2u_addr *a);
void t2u_put_nat(t2u_writer *w, t2u_nat nat);

uint16_t t2u_be16(const uint8_t *p);
uint32_t t2u_be32(const uint8_t *p);
uint64_t t2u_be64(const uint8_t *p);
void t2u_wbe64(uint8_t *p, uint64_t v);

/* DeviceUUID.isValid: 1-64 bytes, each 0x21-0x7E. */
int t2u_uuid_valid(const uint8_t *p, size_t n);
int t2u_addr_equal(const t2u_addr *a, const t2u_addr *b);
/* "1.2.3.4:5" / "[::1]:5" into buf (>= 56 bytes). */
const char *t2u_addr_str(const t2u_addr *a, char *buf, size_t cap);

/* One parsed signaling message. Pointers refer into the parsed datagram. */
typedef struct {
    uint8_t type;
    uint32_t request_id;
    uint8_t role;                     /* HELLO, REGISTER */
    const uint8_t *cookie;            /* CHALLENGE, REGISTER (20) */
    const uint8_t *key;               /* CHALLENGE server key, REGISTER/REGISTERED ephemeral (32) */
    const uint8_t *enc_static;        /* REGISTER (48) */
    const uint8_t *enc;               /* REGISTER/REGISTERED payload, SEALED ciphertext+tag */
    size_t enc_len;
    uint64_t channel, counter;        /* SEALED */
    uint8_t code;                     /* ERROR */
    uint64_t token;                   /* KEEPALIVE QUERY CONNECT INTRODUCE_ACK PATH_REPORT */
    uint64_t session_id;              /* CONNECT_RESULT INTRODUCE INTRODUCE_ACK PATH_REPORT */
    uint64_t cid;                     /* CONNECT INTRODUCE RELAY_UNKNOWN */
    uint64_t resume_cid;              /* CONNECT (0: none) */
    int has_resume_addr;
    t2u_addr resume_addr;
    t2u_nat nat;                      /* KEEPALIVE CONNECT CONNECT_RESULT INTRODUCE */
    uint16_t punch_delay_ms;          /* CONNECT_RESULT INTRODUCE: appended, capped (punch order); 0 absent */
    t2u_addr addr;                    /* observed / public / client / search reply address */
    int has_addr;                     /* QUERY_RESULT address flag */
    const uint8_t *uuid;              /* QUERY CONNECT SEARCH SEARCH_REPLY (NULL: SEARCH for all) */
    size_t uuid_len;
    int online, relay_allowed;        /* QUERY_RESULT CONNECT_RESULT INTRODUCE */
    const uint8_t *pubkey; size_t pubkey_len; /* QUERY_RESULT CONNECT_RESULT */
    const uint8_t *extra; size_t extra_len;   /* QUERY_RESULT */
    t2u_addr candidates[T2U_MAX_CANDIDATES];
    uint8_t ncandidates;              /* CONNECT CONNECT_RESULT INTRODUCE */
    uint8_t path;                     /* PATH_REPORT 1-4 */
} t2u_sig_msg;

/* Parses a datagram; 0 on success, -1 with *why naming the field. Trailing bytes are padding. */
int t2u_sig_parse(const uint8_t *p, size_t len, t2u_sig_msg *m, const char **why);
/* Whether this type may (and must) travel inside SEALED. */
int t2u_sig_is_channel(uint8_t type);

/* Writers for the messages the device sends. Each returns the datagram length, 0 if cap is short. */
size_t t2u_write_hello(uint8_t *out, size_t cap, uint32_t id, uint8_t role);
size_t t2u_write_probe(uint8_t *out, size_t cap, uint32_t id);
size_t t2u_write_keepalive(uint8_t *out, size_t cap, uint32_t id, uint64_t token, t2u_nat nat);
size_t t2u_write_introduce_ack(uint8_t *out, size_t cap, uint32_t id, uint64_t token, uint64_t session);
size_t t2u_write_search_reply(uint8_t *out, size_t cap, uint32_t id, const char *uuid, const t2u_addr *a);

/* The REGISTER payload (plaintext). rotation: NULL or old key(32) || proof(32). */
size_t t2u_write_registration(uint8_t *out, size_t cap, const char *uuid, const uint8_t *extra, size_t extra_len,
                              const t2u_addr *cands, size_t ncands, t2u_nat nat, const uint8_t *cert, size_t cert_len,
                              const uint8_t *rotation);
/* The REGISTERED payload: token(8) keepalive(2) observed address; strict. */
int t2u_parse_registered(const uint8_t *p, size_t len, uint64_t *token, uint16_t *keepalive, t2u_addr *observed);

#endif
