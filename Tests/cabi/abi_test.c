/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */

/*
 * abi_test.c - end-to-end test of libt2u's C ABI (t2u.h), run by Tests/cabi/run.sh against a
 * real t2u-server and t2usvr device agents on loopback. Prints one line per check and ends
 * with "N passed, M failed"; exit status 1 on any failure.
 *
 * Parameters come from the environment (run.sh sets them):
 *   T2U_TEST_SERVER            server address (127.0.0.1)
 *   T2U_TEST_PORT_NOKEY        a server without key (no devices)
 *   T2U_TEST_PORT_KEY          a server with key T2U_TEST_KEY (the devices register here)
 *   T2U_TEST_DEV_EX            device with --extra T2U_TEST_EXTRA and an --allow entry
 *   T2U_TEST_DEV_PW            device with --password T2U_TEST_PASSWORD
 *   T2U_TEST_ECHO_PORT         TCP echo on 127.0.0.1
 *   T2U_TEST_ECHO2_HOST/_PORT  second TCP echo, reachable only through the --allow entry
 *   T2U_TEST_RANGE_LO          start of 200 free UDP ports: two ranges for t2u_set_port_range,
 *                              and +150, where no server listens
 */
#define _GNU_SOURCE
#include "t2u.h"
#include "test_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


/* Polls t2u_status until it returns want (or timeout); returns the last value. */
static int wait_status(int want, double timeout) {
    double end = now_s() + timeout;
    int s;
    while ((s = t2u_status()) != want && now_s() < end) sleep_ms(50);
    return s;
}

static int wait_port_status(unsigned short port, int want, double timeout) {
    double end = now_s() + timeout;
    int s;
    while ((s = t2u_port_status(port, NULL)) != want && now_s() < end) sleep_ms(50);
    return s;
}

static int wait_query(const char *uuid, int want, double timeout) {
    double end = now_s() + timeout;
    int s;
    while ((s = t2u_query(uuid)) != want && now_s() < end) sleep_ms(100);
    return s;
}

static int count_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* Is one of this process's UDP sockets bound to a port in [lo, hi]? */
static int own_udp_port_in(int lo, int hi) {
    char inodes[256][32];
    int ninodes = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && ninodes < 256) {
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (sscanf(target, "socket:[%31[0-9]]", inodes[ninodes]) == 1) ninodes++;
    }
    closedir(d);
    const char *files[] = {"/proc/net/udp", "/proc/net/udp6"};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp) continue;
        char line[512];
        while (fgets(line, sizeof line, fp)) {
            char local[128], inode[32];
            unsigned port;
            /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, " %*s %127s %*s %*s %*s %*s %*s %*s %*s %31s", local, inode) != 2) continue;
            char *colon = strrchr(local, ':');
            if (!colon || sscanf(colon + 1, "%x", &port) != 1) continue;
            for (int i = 0; i < ninodes; i++)
                if (strcmp(inodes[i], inode) == 0 && (int)port >= lo && (int)port <= hi) {
                    fclose(fp);
                    return 1;
                }
        }
        fclose(fp);
    }
    return 0;
}

static int tcp_connect(const char *ip, unsigned short port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Sends `total` pseudo-random bytes in chunks and checks the echo byte for byte. */
static int echo_exchange(int fd, size_t total, unsigned seed) {
    enum { CHUNK = 8192 };
    unsigned char out[CHUNK], in[CHUNK];
    unsigned x = seed * 2654435761u + 1;
    for (size_t done = 0; done < total;) {
        size_t n = total - done < CHUNK ? total - done : CHUNK;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            out[i] = (unsigned char)(x >> 16);
        }
        if (write_all(fd, out, n) != 0 || read_all(fd, in, n) != 0) return -1;
        if (memcmp(out, in, n) != 0) return -2;
        done += n;
    }
    return 0;
}

static int echo_once(unsigned short port, size_t total, unsigned seed) {
    int fd = tcp_connect("127.0.0.1", port);
    if (fd < 0) return -3;
    int r = echo_exchange(fd, total, seed);
    close(fd);
    return r;
}

struct echo_job {
    unsigned short port;
    unsigned seed;
    int result;
};

static void *echo_thread(void *arg) {
    struct echo_job *job = arg;
    job->result = echo_once(job->port, 256 * 1024, job->seed);
    return NULL;
}

/* ---- callbacks ---- */
static int cb_connects, cb_connect_bad_usetime, cb_disconnects, cb_last_disconnect_ret;
static unsigned short cb_connect_port;

static int cb_status_in_callback = 99;

static void on_connect(unsigned short port, int usetime) {
    /* Calling back into libt2u from a callback must neither deadlock nor time out. */
    if (__atomic_load_n(&cb_connects, __ATOMIC_SEQ_CST) == 0)
        __atomic_store_n(&cb_status_in_callback, t2u_port_status(port, NULL), __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&cb_connects, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cb_connect_port, port, __ATOMIC_SEQ_CST);
    if (usetime < 0) __atomic_add_fetch(&cb_connect_bad_usetime, 1, __ATOMIC_SEQ_CST);
}

static void on_disconnect(unsigned short port, int ret) {
    (void)port;
    __atomic_add_fetch(&cb_disconnects, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cb_last_disconnect_ret, ret, __ATOMIC_SEQ_CST);
}

/* The struct lives on this frame only: libt2u must copy it. */
static void install_callbacks(void) {
    T2uCallBack cb;
    cb.OnConnect = on_connect;
    cb.OnDisconnect = on_disconnect;
    t2u_set_callback(&cb);
    memset(&cb, 0xA5, sizeof cb);
}

struct hammer_args {
    const char *uuid;
    int stop;
    int bad;
};

static void *hammer(void *arg) {
    struct hammer_args *a = arg;
    T2uNetRate rate;
    T2uNetStat stat;
    while (!__atomic_load_n(&a->stop, __ATOMIC_SEQ_CST)) {
        int s = t2u_status();
        int q = t2u_query(a->uuid);
        int ps = t2u_port_status(5555, &stat);
        int gr = t2u_get_rate(0, &rate);
        t2u_del_port(5555);
        if (s < -2 || s > 1 || q < -1 || q > 1 || ps != -1 || (gr != 0 && gr != -1)) __atomic_add_fetch(&a->bad, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

#define GUARD 0x5A
static int guard_ok(const char *buf, int from, int to) {
    for (int i = from; i < to; i++)
        if ((unsigned char)buf[i] != GUARD) return 0;
    return 1;
}

static int has_nul(const char *buf, int size) { return memchr(buf, 0, (size_t)size) != NULL; }

/* An IPv4 address of this machine (loopback or one of its interfaces): the device runs here and
 * offers its LAN addresses too, so the link may settle on either. Bindable means local. */
static int is_local_ipv4(const char *ip) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return 0;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *server = env("T2U_TEST_SERVER");
    unsigned short port_nokey = (unsigned short)atoi(env("T2U_TEST_PORT_NOKEY"));
    unsigned short port_key = (unsigned short)atoi(env("T2U_TEST_PORT_KEY"));
    const char *key = env("T2U_TEST_KEY");
    const char *dev_ex = env("T2U_TEST_DEV_EX");
    const char *extra = env("T2U_TEST_EXTRA");
    const char *dev_pw = env("T2U_TEST_DEV_PW");
    const char *password = env("T2U_TEST_PASSWORD");
    unsigned short echo_port = (unsigned short)atoi(env("T2U_TEST_ECHO_PORT"));
    const char *echo2_host = env("T2U_TEST_ECHO2_HOST");
    unsigned short echo2_port = (unsigned short)atoi(env("T2U_TEST_ECHO2_PORT"));
    int range_lo = atoi(env("T2U_TEST_RANGE_LO"));
    char offline_uuid[64];
    snprintf(offline_uuid, sizeof offline_uuid, "cabi-offline-%d", (int)getpid());

    /* ---- before t2u_init ---- */
    const char *version = t2u_version();
    check(version != NULL && strcmp(version, env("T2U_TEST_VERSION")) == 0 && t2u_version() == version,
          "t2u_version() before init is the binaries' --version, one static string");
    char buf[4096], ip[64];
    T2uNetRate rate;
    T2uNetStat stat;
    check(t2u_status() == -1, "status before init is -1");
    check(t2u_query(dev_ex) == -1, "query before init is -1");
    check(t2u_query_ex(dev_ex, buf, sizeof buf, ip, sizeof ip) == -1, "query_ex before init is -1");
    check(t2u_add_port(dev_ex, echo_port, 0) == -1, "add_port before init is -1");
    check(t2u_port_status(1234, &stat) == -1, "port_status before init is -1");
    ip[0] = 'x';
    check(t2u_port_peer_address(1234, ip, sizeof ip) == -1 && ip[0] == 0, "port_peer_address before init is -1, buff \"\"");
    check(t2u_get_rate(0, &rate) == -1, "get_rate before init is -1");
    check(t2u_search(buf, sizeof buf) >= 0, "search before init works (LAN search needs no server)");
    t2u_del_port(1234);
    t2u_set_callback(NULL);
    check(1, "del_port and set_callback(NULL) before init do not crash");
    t2u_init(NULL, port_nokey, NULL);
    t2u_init("", port_nokey, NULL);
    t2u_init("\xff\xfe", port_nokey, NULL);
    t2u_init(server, 0, NULL);
    check(t2u_status() == -1, "init with NULL/empty/non-UTF-8 address or port 0 is refused (status -1)");

    /* ---- a server without key; port range before and after init ---- */
    t2u_set_port_range((unsigned short)range_lo, (unsigned short)(range_lo + 49));
    t2u_init(server, port_nokey, NULL);
    check(wait_status(1, 10) == 1, "status 1 after init (server without key, svrkey NULL)");
    check(own_udp_port_in(range_lo, range_lo + 49), "set_port_range before init: UDP socket in %d-%d", range_lo, range_lo + 49);
    t2u_set_port_range((unsigned short)(range_lo + 50), (unsigned short)(range_lo + 99));
    check(wait_status(1, 10) == 1 && own_udp_port_in(range_lo + 50, range_lo + 99),
          "set_port_range after init: UDP socket in %d-%d", range_lo + 50, range_lo + 99);
    t2u_set_port_range(0, 0);
    t2u_exit();
    check(t2u_status() == -1, "status -1 after exit");

    /* ---- no server answering: status 0, query fails ---- */
    t2u_init(server, (unsigned short)(range_lo + 150), NULL);
    sleep_ms(500);
    check(t2u_status() == 0, "no server on the port: status 0");
    double t0 = now_s();
    int qdead = t2u_query(dev_ex);
    check(qdead == -1 && now_s() - t0 < 7.0, "query without a server: -1 within the bound (%.1f s)", now_s() - t0);
    t2u_exit();

    /* ---- wrong server key ---- */
    t2u_init(server, port_key, "not-the-key");
    check(wait_status(-2, 10) == -2, "wrong server key: status -2");
    t2u_exit();

    /* ---- the keyed server, for the rest ---- */
    t2u_init(server, port_key, key);
    int threads_after_init = count_dir("/proc/self/task");
    t2u_init(server, port_key, key); /* no-op */
    check(count_dir("/proc/self/task") <= threads_after_init + 1, "second init is a no-op");
    check(wait_status(1, 10) == 1, "status 1 with the right key");
    install_callbacks();

    /* argument validation after init */
    char bad_utf8[] = {(char)0xC3, (char)0x28, 0};
    check(t2u_query(NULL) == -1 && t2u_query("") == -1 && t2u_query(bad_utf8) == -1, "query NULL/empty/non-UTF-8 uuid: -1");
    check(t2u_query_ex(dev_ex, buf, 0, ip, sizeof ip) == -1 && t2u_query_ex(dev_ex, buf, -5, ip, sizeof ip) == -1 &&
              t2u_query_ex(dev_ex, buf, sizeof buf, ip, 0) == -1,
          "query_ex with zero/negative buffer size: -1");
    check(t2u_add_port(NULL, echo_port, 0) == -1 && t2u_add_port("", echo_port, 0) == -1 &&
              t2u_add_port(bad_utf8, echo_port, 0) == -1 && t2u_add_port(dev_ex, 0, 0) == -1,
          "add_port NULL/empty/non-UTF-8 uuid or remote port 0: -1");
    check(t2u_add_port_ex(dev_ex, NULL, echo_port, 0) == -1 && t2u_add_port_ex(dev_ex, "", echo_port, 0) == -1 &&
              t2u_add_port_v3(dev_pw, password, NULL, echo_port, 0) == -1 &&
              t2u_add_port_v3(dev_pw, bad_utf8, "127.0.0.1", echo_port, 0) == -1,
          "add_port_ex/_v3 with NULL/empty remote_ip or non-UTF-8 password: -1");
    check(t2u_search(NULL, 100) == -1 && t2u_search(buf, 0) == -1 && t2u_search(buf, -1) == -1, "search NULL/zero/negative buffer: -1");
    check(t2u_port_status(0, &stat) == -1 && t2u_port_status(4321, NULL) == -1, "port_status unknown port: -1");
    check(t2u_port_peer_address(4321, ip, sizeof ip) == -1 && t2u_port_peer_address(0, ip, sizeof ip) == -1,
          "port_peer_address unknown port: -1");
    check(t2u_get_rate(4321, &rate) == -1, "get_rate unknown port: -1");
    check(t2u_get_rate(0, NULL) == -1, "get_rate NULL rate: -1");

    /* ---- query ---- */
    /* The agents register in the background: allow them a few seconds. */
    check(wait_query(dev_ex, 1, 10) == 1 && wait_query(dev_pw, 1, 10) == 1, "query online devices: 1");
    check(t2u_query(offline_uuid) == 0, "query unknown device: 0");
    memset(buf, GUARD, sizeof buf);
    memset(ip, GUARD, sizeof ip);
    int q = t2u_query_ex(dev_ex, buf, sizeof buf, ip, sizeof ip);
    check(q == 1 && strcmp(buf, extra) == 0, "query_ex: 1 and extra '%s' (got %d '%.60s')", extra, q, has_nul(buf, sizeof buf) ? buf : "?");
    check(strcmp(ip, "127.0.0.1") == 0, "query_ex: public IP 127.0.0.1 (got '%.30s')", has_nul(ip, sizeof ip) ? ip : "?");
    {
        char small[16], smallip[16];
        memset(small, GUARD, sizeof small);
        memset(smallip, GUARD, sizeof smallip);
        q = t2u_query_ex(dev_ex, small, 6, smallip, 4);
        check(q == 1 && small[5] == 0 && strncmp(small, extra, 5) == 0 && guard_ok(small, 6, 16),
              "query_ex extra truncated to 5 bytes + NUL, guard intact");
        check(smallip[3] == 0 && strncmp(smallip, "127", 3) == 0 && guard_ok(smallip, 4, 16), "query_ex ip truncated to 3 bytes + NUL, guard intact");
        memset(small, GUARD, sizeof small);
        q = t2u_query_ex(dev_ex, small, 1, NULL, 0);
        check(q == 1 && small[0] == 0 && guard_ok(small, 1, 16), "query_ex buffsize 1: empty string, NULL ipaddr allowed");
        memset(small, GUARD, sizeof small);
        q = t2u_query_ex(offline_uuid, small, 8, NULL, 0);
        check(q == 0 && has_nul(small, 8) && guard_ok(small, 8, 16), "query_ex unknown device: 0, NUL-terminated");
    }

    /* ---- add_port, port_status, echo ---- */
    int p = t2u_add_port(dev_ex, echo_port, 0);
    check(p > 0, "add_port returns the local port (%d)", p);
    int first = t2u_port_status((unsigned short)p, NULL);
    check(first == 0 || first == 1, "port_status right after add_port: 0 (or already 1), got %d", first);
    check(wait_port_status((unsigned short)p, 1, 15) == 1, "port_status reaches 1");
    memset(&stat, GUARD, sizeof stat);
    int ps = t2u_port_status((unsigned short)p, &stat);
    check(ps == 1 && has_nul(stat.ip, sizeof stat.ip) && is_local_ipv4(stat.ip) &&
              stat.port > 0 && (stat.proxy == 0 || stat.proxy == 1),
          "T2uNetStat: ip %s port %d proxy %d lost %.3f bw %d", has_nul(stat.ip, 20) ? stat.ip : "?", stat.port, stat.proxy,
          (double)stat.lost_rate, stat.bandwidth);
    {
        char full[46], tiny[4];
        memset(full, GUARD, sizeof full);
        int got = t2u_port_peer_address((unsigned short)p, full, sizeof full);
        check(got == 0 && has_nul(full, sizeof full) && strcmp(full, stat.ip) == 0,
              "port_peer_address: the T2uNetStat ip in full (%s)", has_nul(full, sizeof full) ? full : "?");
        memset(tiny, GUARD, sizeof tiny);
        got = t2u_port_peer_address((unsigned short)p, tiny, sizeof tiny);
        check(got == -1 && tiny[0] == 0 && t2u_port_peer_address((unsigned short)p, NULL, 46) == -1,
              "port_peer_address: too small or NULL buff: -1 (buff \"\")");
    }
    check(t2u_add_port(dev_ex, echo_port, (unsigned short)p) == -1, "add_port on a local port already in use: -1");
    {
        int blocker = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        socklen_t alen = sizeof a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(blocker, (struct sockaddr *)&a, sizeof a);
        listen(blocker, 1);
        getsockname(blocker, (struct sockaddr *)&a, &alen);
        check(t2u_add_port(dev_ex, echo_port, ntohs(a.sin_port)) == -1, "add_port on a port another socket holds: -1");
        close(blocker);
    }
    check(echo_once((unsigned short)p, 100000, 1) == 0, "echo 100000 bytes through the mapped port");
    {
        enum { N = 6 };
        pthread_t th[N];
        struct echo_job jobs[N];
        for (int i = 0; i < N; i++) {
            jobs[i].port = (unsigned short)p;
            jobs[i].seed = 100 + (unsigned)i;
            jobs[i].result = -9;
            pthread_create(&th[i], NULL, echo_thread, &jobs[i]);
        }
        int ok = 1;
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            if (jobs[i].result != 0) ok = 0;
        }
        check(ok, "%d concurrent connections, 256 KiB each, byte-exact echo", N);
    }
    memset(&rate, 0, sizeof rate);
    int r = t2u_get_rate((unsigned short)p, &rate);
    check(r == 0 && rate.total_rcv >= 100000 && rate.total_send >= 100000, "get_rate(port): 0, totals rcv %lld send %lld time %d",
          (long long)rate.total_rcv, (long long)rate.total_send, rate.time_sec);
    T2uNetRate all;
    memset(&all, 0, sizeof all);
    r = t2u_get_rate(0, &all);
    check(r == 0 && all.total_rcv >= rate.total_rcv && all.total_send >= rate.total_send, "get_rate(0): 0, global totals %lld/%lld",
          (long long)all.total_rcv, (long long)all.total_send);
    check(__atomic_load_n(&cb_connects, __ATOMIC_SEQ_CST) >= 1 && __atomic_load_n(&cb_connect_bad_usetime, __ATOMIC_SEQ_CST) == 0,
          "OnConnect called (port %d) with usetime >= 0", __atomic_load_n(&cb_connect_port, __ATOMIC_SEQ_CST));
    check(__atomic_load_n(&cb_status_in_callback, __ATOMIC_SEQ_CST) == 1, "t2u_port_status inside OnConnect: 1 (got %d)",
          __atomic_load_n(&cb_status_in_callback, __ATOMIC_SEQ_CST));

    /* del_port closes open connections */
    {
        int fd = tcp_connect("127.0.0.1", (unsigned short)p);
        int live = fd >= 0 && echo_exchange(fd, 1000, 7) == 0;
        t2u_del_port((unsigned short)p);
        int closed = 0;
        if (fd >= 0) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (poll(&pfd, 1, 5000) == 1) {
                unsigned char c;
                ssize_t n = recv(fd, &c, 1, 0);
                closed = n <= 0;
            }
            close(fd);
        }
        check(live && closed, "del_port closes an open connection");
        check(t2u_port_status((unsigned short)p, NULL) == -1, "port_status after del_port: -1");
        check(t2u_get_rate((unsigned short)p, &rate) == -1, "get_rate after del_port: -1");
        int again = tcp_connect("127.0.0.1", (unsigned short)p);
        check(again < 0, "local port closed after del_port");
        if (again >= 0) close(again);
    }

    /* ---- add_port_ex to the allowed second service ---- */
    int p2 = t2u_add_port_ex(dev_ex, echo2_host, echo2_port, 0);
    check(p2 > 0 && wait_port_status((unsigned short)p2, 1, 15) == 1, "add_port_ex to %s:%d: port %d connected", echo2_host, echo2_port, p2);
    check(echo_once((unsigned short)p2, 50000, 3) == 0, "echo through add_port_ex to the allowed service");
    t2u_del_port((unsigned short)p2);
    /* A LAN host the device does not allow: the link comes up, the connection does not. */
    int p2b = t2u_add_port_ex(dev_ex, "127.0.0.3", echo2_port, 0);
    check(p2b > 0 && wait_port_status((unsigned short)p2b, 1, 15) == 1 && echo_once((unsigned short)p2b, 1000, 5) != 0,
          "add_port_ex to a host without --allow entry: no bytes get through");
    t2u_del_port((unsigned short)p2b);

    /* ---- device password ---- */
    int p3 = t2u_add_port_v3(dev_pw, password, "127.0.0.1", echo_port, 0);
    check(p3 > 0 && wait_port_status((unsigned short)p3, 1, 15) == 1, "add_port_v3 with the right password: connected");
    check(echo_once((unsigned short)p3, 50000, 4) == 0, "echo through the password device");
    t2u_del_port((unsigned short)p3);
    int p4 = t2u_add_port_v3(dev_pw, "wrong-password", "127.0.0.1", echo_port, 0);
    int s4 = p4 > 0 ? wait_port_status((unsigned short)p4, -5, 15) : 99;
    check(s4 == -5, "wrong device password: port_status -5 (got %d)", s4);
    t2u_del_port((unsigned short)p4);

    /* ---- offline device ---- */
    int p5 = t2u_add_port(offline_uuid, 80, 0);
    int s5 = p5 > 0 ? wait_port_status((unsigned short)p5, -4, 15) : 99;
    check(s5 == -4, "offline device: port_status -4 (got %d)", s5);
    sleep_ms(200);
    check(__atomic_load_n(&cb_disconnects, __ATOMIC_SEQ_CST) >= 1, "OnDisconnect called (last ret %d)",
          __atomic_load_n(&cb_last_disconnect_ret, __ATOMIC_SEQ_CST));
    t2u_del_port((unsigned short)p5);
    t2u_set_callback(NULL);

    /* ---- search ---- */
    memset(buf, GUARD, sizeof buf);
    int n = t2u_search(buf, sizeof buf);
    char want[128];
    snprintf(want, sizeof want, "uuid=%s,ip=", dev_ex);
    check(n >= 1 && has_nul(buf, sizeof buf) && strstr(buf, want) != NULL, "search finds %s (%d found)", dev_ex, n);
    {
        char small[32];
        memset(small, GUARD, sizeof small);
        n = t2u_search(small, 10);
        check(n == -1 && guard_ok(small, 10, 32), "search into 10 bytes: -1 (no whole line fits, never a cut line), guard intact");
    }

    t2u_exit();
    check(t2u_status() == -1, "status -1 after exit");

    /* ---- every function is thread safe: callers on other threads during init/exit ---- */
    {
        enum { T = 4 };
        pthread_t th[T];
        struct hammer_args args = {dev_ex, 0, 0};
        for (int i = 0; i < T; i++) pthread_create(&th[i], NULL, hammer, &args);
        for (int i = 0; i < 3; i++) {
            t2u_init(server, port_key, key);
            wait_status(1, 5);
            sleep_ms(200);
            t2u_exit();
        }
        __atomic_store_n(&args.stop, 1, __ATOMIC_SEQ_CST);
        for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
        check(args.bad == 0, "4 threads calling status/query/port_status/get_rate/del_port during init/exit x3: only valid codes (%d bad)", args.bad);
    }

    /* ---- init/exit loop leaks no threads and no sockets ---- */
    int threads_before = count_dir("/proc/self/task");
    int fds_before = count_dir("/proc/self/fd");
    for (int i = 0; i < 5; i++) {
        t2u_init(server, port_key, key);
        wait_status(1, 10);
        int lp = t2u_add_port(dev_ex, echo_port, 0);
        if (lp > 0) wait_port_status((unsigned short)lp, 1, 5);
        t2u_exit();
    }
    int threads_after = count_dir("/proc/self/task");
    for (double end = now_s() + 15; threads_after > threads_before && now_s() < end; sleep_ms(200))
        threads_after = count_dir("/proc/self/task");
    int fds_after = count_dir("/proc/self/fd");
    check(threads_after <= threads_before, "init/exit x5: threads %d before, %d after", threads_before, threads_after);
    check(fds_after <= fds_before, "init/exit x5: file descriptors %d before, %d after", fds_before, fds_after);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
