/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */

/*
 * pins_test.c - libt2u fails closed on a changed device key: run by Tests/cabi/run.sh with
 * T2U_KNOWN_DEVICES pointing at a file that pins T2U_TEST_DEV_EX to a key the device does not
 * have. t2u_port_status must become -6 (device key changed, an extension of the manual's codes),
 * OnDisconnect must report -6, and the link must never come up. Ends with "N passed, M failed".
 */
#define _GNU_SOURCE
#include "t2u.h"
#include "test_support.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int connects, last_disconnect;

static void on_connect(unsigned short port, int usetime) { (void)port; (void)usetime; atomic_fetch_add(&connects, 1); }
static void on_disconnect(unsigned short port, int ret) { (void)port; atomic_store(&last_disconnect, ret); }

int main(void) {
    const char *server = env("T2U_TEST_SERVER");
    int port_key = atoi(env("T2U_TEST_PORT_KEY"));
    const char *key = env("T2U_TEST_KEY");
    const char *dev = env("T2U_TEST_DEV_EX");
    int echo_port = atoi(env("T2U_TEST_ECHO_PORT"));
    env("T2U_KNOWN_DEVICES");

    t2u_init(server, (unsigned short)port_key, key);
    double deadline = now_s() + 10;
    while (t2u_status() != 1 && now_s() < deadline) usleep(50 * 1000);
    check(t2u_status() == 1, "connected to the server");

    T2uCallBack callbacks = {on_connect, on_disconnect};
    t2u_set_callback(&callbacks);
    int port = t2u_add_port(dev, (unsigned short)echo_port, 0);
    check(port > 0, "t2u_add_port opens the local port");
    int status = 0;
    deadline = now_s() + 15;
    while (port > 0 && now_s() < deadline) {
        status = t2u_port_status((unsigned short)port, NULL);
        if (status == -6) break;
        usleep(20 * 1000);
    }
    check(status == -6, "t2u_port_status is -6 (device key changed) for a device whose key differs from its pin");
    usleep(300 * 1000);
    check(atomic_load(&last_disconnect) == -6, "OnDisconnect reported -6");
    check(atomic_load(&connects) == 0, "the link never came up");
    check(port > 0 && t2u_port_status((unsigned short)port, NULL) == -6, "the status stays -6 while the key differs");
    if (port > 0) t2u_del_port((unsigned short)port);
    t2u_exit();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
