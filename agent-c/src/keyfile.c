/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int t2u_hex_key(const char *text, uint8_t key[32]) {
    size_t start = 0, end = strlen(text);
    while (start < end && is_space(text[start])) start++;
    while (end > start && is_space(text[end - 1])) end--;
    if (end - start != 64) return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval((unsigned char)text[start + 2 * i]), lo = hexval((unsigned char)text[start + 2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void t2u_hex_encode(char *out, const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* Reads at most cap-1 bytes of a private regular file; 1 = missing (ENOENT), 0 = read, -1 = error. */
static int read_private(const char *path, const char *what, char *buf, size_t cap, char *err, size_t errcap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        if (errno == ELOOP)
            snprintf(err, errcap, "refusing %s %s: it is a symbolic link; run `chmod 600 %s` and use the real file, not a link",
                     what, path, path);
        else
            snprintf(err, errcap, "cannot open %s %s: %s (errno %d); check that the directory exists and is writable by this user",
                     what, path, strerror(errno), errno);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        snprintf(err, errcap, "refusing %s %s: %s; run `chmod 600 %s` and use the real file, not a link", what, path,
                 S_ISREG(st.st_mode) ? "its mode lets other users read it" : "not a regular file", path);
        close(fd);
        return -1;
    }
    size_t total = 0;
    while (total < cap - 1) {
        ssize_t n = read(fd, buf + total, cap - 1 - total);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errcap, "cannot read %s %s: %s", what, path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0) break;
        total += (size_t)n;
    }
    buf[total] = 0;
    close(fd);
    return 0;
}

int t2u_key_text_parse(const char *text, uint8_t priv[32], size_t *len) {
    size_t n = strnlen(text, 4096);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) n--;
    *len = n;
    char line[65];
    if (n != 64) return -1;
    memcpy(line, text, 64);
    line[64] = 0;
    int rc = t2u_hex_key(line, priv);
    t2u_wipe(line, sizeof line);
    return rc;
}

int t2u_keyfile_load(const char *path, const char *what, int create, uint8_t priv[32], char *err, size_t errcap) {
    char buf[4097];
    int rc = read_private(path, what, buf, sizeof buf, err, errcap);
    if (rc < 0) return -1;
    if (rc == 0) {
        size_t len;
        rc = t2u_key_text_parse(buf, priv, &len);
        t2u_wipe(buf, sizeof buf);
        if (rc != 0) {
            snprintf(err, errcap, "%s %s is corrupt (expected 64 hex digits, found %zu bytes); delete it to generate a new key "
                     "(whoever pinned the old key must then be re-paired), or restore it from a backup", what, path, len);
            return -1;
        }
        return 0;
    }
    if (!create) {
        snprintf(err, errcap, "cannot open %s %s: %s", what, path, strerror(ENOENT));
        return -1;
    }
    uint8_t pub[32];
    t2u_x25519_keypair(priv, pub);
    char line[66];
    t2u_hex_encode(line, priv, 32);
    line[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || write(fd, line, 65) != 65 || fsync(fd) != 0) {
        snprintf(err, errcap, "cannot create %s %s: %s (errno %d); check that the directory exists and is writable by this user",
                 what, path, strerror(errno), errno);
        if (fd >= 0) close(fd);
        t2u_wipe(line, sizeof line);
        return -1;
    }
    close(fd);
    t2u_wipe(line, sizeof line);
    return 0;
}

int t2u_secret_load(const char *path, const char *what, char *out, size_t cap, char *err, size_t errcap) {
    int rc = read_private(path, what, out, cap, err, errcap);
    if (rc == 1) snprintf(err, errcap, "cannot open %s %s: %s", what, path, strerror(ENOENT));
    if (rc != 0) return -1;
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r')) out[--len] = 0;
    if (len == 0) {
        snprintf(err, errcap, "%s %s is corrupt (empty)", what, path);
        return -1;
    }
    return 0;
}
