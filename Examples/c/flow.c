/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */

/*
 * flow.c - the normal flow of the Libt2u manual, in C against libt2u.
 *
 *   ./flow UUID SERVER SERVER_PORT REMOTE_PORT [SERVER_KEY]
 *
 * Maps REMOTE_PORT of device UUID to a local port, sends a line through it, prints what comes
 * back (try a device with an echo service or a web server), shows the rates, and cleans up.
 * Build: cc flow.c $(pkg-config --cflags --libs t2u) -o flow
 */
#define _POSIX_C_SOURCE 200809L
#include <t2u.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void on_connect(unsigned short port, int usetime) {
    printf("[callback] port %u connected in %d ms\n", port, usetime);
}

static void on_disconnect(unsigned short port, int ret) {
    printf("[callback] port %u disconnected (%d)\n", port, ret);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s UUID SERVER SERVER_PORT REMOTE_PORT [SERVER_KEY]\n", argv[0]);
        return 2;
    }
    const char *uuid = argv[1];
    const char *server = argv[2];
    unsigned short server_port = (unsigned short)atoi(argv[3]);
    unsigned short remote_port = (unsigned short)atoi(argv[4]);
    const char *key = argc > 5 ? argv[5] : NULL;
    int rc = 1;

    /* 1. once at start */
    t2u_init(server, server_port, key);
    T2uCallBack cb = {on_connect, on_disconnect};
    t2u_set_callback(&cb);

    /* 2. wait for the server */
    int status = 0;
    for (int i = 0; i < 100 && (status = t2u_status()) != 1; i++) sleep_ms(100);
    if (status != 1) {
        fprintf(stderr, "not connected to the server (status %d)\n", status);
        goto out;
    }

    /* is the device online? */
    char extra[256], ip[64];
    int online = t2u_query_ex(uuid, extra, sizeof extra, ip, sizeof ip);
    printf("device %s: %s, ip %s, extra '%s'\n", uuid, online == 1 ? "online" : online == 0 ? "offline" : "query failed", ip, extra);
    if (online != 1) goto out;

    /* map the device's port to a local port (0: any) */
    int local_port = t2u_add_port(uuid, remote_port, 0);
    if (local_port < 0) {
        fprintf(stderr, "cannot open a local port\n");
        goto out;
    }
    printf("device port %u is local port %d\n", remote_port, local_port);

    /* wait for the P2P link */
    T2uNetStat stat;
    int ps = 0;
    for (int i = 0; i < 300 && (ps = t2u_port_status((unsigned short)local_port, &stat)) != 1; i++) sleep_ms(100);
    if (ps != 1) {
        fprintf(stderr, "link not up (port_status %d)\n", ps);
        t2u_del_port((unsigned short)local_port);
        goto out;
    }
    printf("link up: peer %s:%d, %s, loss %.3f, bandwidth %d KB/s\n", stat.ip, stat.port, stat.proxy ? "relayed" : "direct",
           (double)stat.lost_rate, stat.bandwidth);

    /* 3. any TCP client now talks to 127.0.0.1:local_port with its own protocol */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)local_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        const char *hello = "hello through t2u\r\n\r\n";
        if (send(fd, hello, strlen(hello), 0) > 0) {
            char reply[512];
            ssize_t n = recv(fd, reply, sizeof reply - 1, 0);
            if (n > 0) {
                reply[n] = 0;
                printf("received %zd bytes: %s\n", n, reply);
                rc = 0;
            }
        }
    } else {
        perror("connect");
    }
    if (fd >= 0) close(fd);

    T2uNetRate rate;
    if (t2u_get_rate((unsigned short)local_port, &rate) == 0)
        printf("rate: %lld bytes in, %lld bytes out, %.1f KB/s average over %d s\n", (long long)rate.total_rcv,
               (long long)rate.total_send, (double)rate.avg_rate, rate.time_sec);

    t2u_del_port((unsigned short)local_port);
out:
    /* 4. at the end */
    t2u_exit();
    return rc;
}
