/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Linked only into musl builds: Debian's libsodium.a is compiled for glibc with
 * _FORTIFY_SOURCE, so sodium_memzero calls glibc's checked explicit_bzero. musl has the plain
 * one; the size check is the compiler's, already done at libsodium's build. */
#include <stddef.h>
#include <string.h>

void __explicit_bzero_chk(void *p, size_t n, size_t destlen);
void __explicit_bzero_chk(void *p, size_t n, size_t destlen) {
    (void)destlen;
    explicit_bzero(p, n);
}
