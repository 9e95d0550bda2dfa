#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../include/t2u_agent.h"

int t2u_log_level = T2U_LOG_INFO;

static const char *names[] = {"trace", "debug", "info", "notice", "warning", "error", "critical"};

int t2u_log_parse(const char *name) {
    for (int i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0) return i > T2U_LOG_ERROR ? T2U_LOG_ERROR : i;
    return -1;
}

void t2u_log(int level, const char *fmt, ...) {
    if (level < t2u_log_level) return;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s t2usvr : %s\n", when, names[level], line);
}
