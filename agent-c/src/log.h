/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* One-line log messages on stderr: time, level, label, message (as swift-log's stream handler),
 * or with t2u_log_json one JSON object per line (as the Swift agents' --log-format json). */
#ifndef T2U_LOG_H
#define T2U_LOG_H

#include "../include/t2u_agent.h" /* the levels */

extern int t2u_log_level;
extern int t2u_log_json; /* 0 text, 1 json */
void t2u_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "trace" ... "critical" -> level, -1 if unknown. */
int t2u_log_parse(const char *name);
/* Writes `text` as a JSON string literal (with quotes) into out; returns its length. */
size_t t2u_json_quote(char *out, size_t cap, const char *text);

#endif
