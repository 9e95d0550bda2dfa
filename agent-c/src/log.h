/* One-line log messages on stderr: time, level, label, message (as swift-log's stream handler). */
#ifndef T2U_LOG_H
#define T2U_LOG_H

#include "../include/t2u_agent.h" /* the levels */

extern int t2u_log_level;
void t2u_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "trace" ... "critical" -> level, -1 if unknown. */
int t2u_log_parse(const char *name);

#endif
