/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../include/t2u_agent.h"

int t2u_log_level = T2U_LOG_INFO;
int t2u_log_json;

static const char *names[] = {"trace", "debug", "info", "notice", "warning", "error", "critical"};

int t2u_log_parse(const char *name) {
    for (int i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0) return i > T2U_LOG_ERROR ? T2U_LOG_ERROR : i;
    return -1;
}

/* `text` as a JSON string (quotes, backslash and control characters escaped; other bytes as they
 * are: the messages are ASCII or UTF-8). Truncated at a whole escape when `cap` runs out. */
size_t t2u_json_quote(char *out, size_t cap, const char *text) {
    size_t n = 0;
    if (cap < 3) return 0;
    out[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char esc[7];
        size_t len;
        if (*p == '"' || *p == '\\') esc[0] = '\\', esc[1] = (char)*p, esc[2] = 0;
        else if (*p == '\n') memcpy(esc, "\\n", 3);
        else if (*p == '\t') memcpy(esc, "\\t", 3);
        else if (*p < 0x20 || *p == 0x7f) snprintf(esc, sizeof esc, "\\u%04x", *p);
        else esc[0] = (char)*p, esc[1] = 0;
        len = strlen(esc);
        if (n + len + 2 > cap) break;
        memcpy(out + n, esc, len);
        n += len;
    }
    out[n++] = '"';
    out[n] = 0;
    return n;
}

void t2u_log(int level, const char *fmt, ...) {
    if (level < t2u_log_level) return;
    char when[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!t2u_log_json) {
        fprintf(stderr, "%sZ %s t2usvr : %s\n", when, names[level], line);
        return;
    }
    /* As the Swift agents' --log-format json (JSONLogHandler): one object per line. The C agent's
     * fields are in its messages, so there is no "metadata" object. */
    snprintf(when + w, sizeof when - w, ".%03dZ", (int)(now.tv_nsec / 1000000));
    char quoted[2 * sizeof line + 8];
    t2u_json_quote(quoted, sizeof quoted, line);
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"label\":\"t2usvr\",\"source\":\"agent-c\",\"message\":%s}\n", when,
            names[level], quoted);
}
