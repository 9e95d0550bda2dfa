/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The t2u key file (KeyFile): 64 hex digits of an X25519 private key and a newline, created
 * 0600; refused when a symlink, not a regular file, or group/world-accessible. */
#ifndef T2U_KEYFILE_H
#define T2U_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/* 0 on success; else -1 with a message for people in err. create: make it when missing. */
int t2u_keyfile_load(const char *path, const char *what, int create, uint8_t priv[32], char *err, size_t errcap);
/* A key file's text: 64 hex digits, trailing CR, LF and spaces ignored (*len: the length
 * without them). 0, or -1 when it is not a key. */
int t2u_key_text_parse(const char *text, uint8_t priv[32], size_t *len);
/* A secret file (password): same checks, trailing CR/LF dropped, not empty. */
int t2u_secret_load(const char *path, const char *what, char *out, size_t cap, char *err, size_t errcap);
/* 64 hex digits, surrounding whitespace ignored. */
int t2u_hex_key(const char *text, uint8_t key[32]);
void t2u_hex_encode(char *out, const uint8_t *p, size_t n);

#endif
