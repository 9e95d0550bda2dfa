/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The agent inside a vendor's own process (library form): start it, wait for the status
 * callback to report REGISTERED (at most 15 s), stop it.
 *   cc examples/embed.c -Iinclude build/libt2uagent.a -lsodium -lpthread -o embed
 *   ./embed UUID SERVER PORT [SVRKEY]        exit 0 once registered */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "t2u_agent.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int last_status = T2U_AGENT_CONNECTING;

static void on_status(void *ctx, int status, const char *message) {
    (void)ctx;
    printf("status %d: %s\n", status, message);
    pthread_mutex_lock(&lock);
    last_status = status;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s UUID SERVER PORT [SVRKEY]\n", argv[0]);
        return 2;
    }
    t2u_agent_config config = {
        .uuid = argv[1], .server = argv[2], .server_port = (uint16_t)atoi(argv[3]),
        .server_key = argc > 4 ? argv[4] : NULL, .log_level = T2U_LOG_WARNING, .on_status = on_status,
    };
    char err[512];
    t2u_agent *agent = t2u_agent_start(&config, err, sizeof err);
    if (!agent) {
        fprintf(stderr, "t2u_agent_start: %s\n", err);
        return 1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 15;
    pthread_mutex_lock(&lock);
    while (last_status != T2U_AGENT_REGISTERED)
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) break;
    int registered = last_status == T2U_AGENT_REGISTERED;
    pthread_mutex_unlock(&lock);
    t2u_agent_stop(agent);
    printf(registered ? "embedded agent registered\n" : "embedded agent did not register\n");
    return registered ? 0 : 1;
}
