/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* Addresses and sockets: server lists (IPv4 and IPv6, ServerAddressList's rules), host
 * candidates (LocalAddresses), IPv4-mapped addresses on the dual-stack socket, PunchScope with
 * IPv6, and the agent's one socket talking to a server on 127.0.0.1 and on ::1 (loopback only). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../include/t2u_agent.h"
#include "net.h"
#include "traversal.h"

#include "check.h"

static t2u_addr addr(const char *text, uint16_t port) {
    t2u_addr a = {.port = port};
    if (inet_pton(AF_INET, text, a.ip) == 1) a.family = 4;
    else if (inet_pton(AF_INET6, text, a.ip) == 1) a.family = 6;
    return a;
}

static int is(const t2u_addr *a, const char *text, uint16_t port) {
    t2u_addr b = addr(text, port);
    return t2u_addr_equal(a, &b);
}

static void test_server_lists(void) {
    t2u_addr out[16];
    char err[256];
    CHECK(t2u_resolve_servers_ex("192.0.2.1:7000, [2001:db8::1]:7001 ,2001:db8::2,192.0.2.1:7000", 9, 1, out, 16, err,
                                 sizeof err) == 3);
    CHECK(is(&out[0], "192.0.2.1", 7000) && is(&out[1], "2001:db8::1", 7001) && is(&out[2], "2001:db8::2", 9));
    /* IPv4-mapped IPv6 is the IPv4 address it carries. */
    CHECK(t2u_resolve_servers_ex("[::ffff:198.51.100.7]:5", 9, 1, out, 16, err, sizeof err) == 1 && is(&out[0], "198.51.100.7", 5));
    CHECK(t2u_resolve_servers_ex("[::1]", 7000, 1, out, 16, err, sizeof err) == 1 && is(&out[0], "::1", 7000));
    /* Refused: bad ports, brackets, no server; names without DNS in numeric mode. */
    CHECK(t2u_resolve_servers_ex("192.0.2.1:0", 9, 1, out, 16, err, sizeof err) == -1 && strstr(err, "is not HOST"));
    CHECK(t2u_resolve_servers_ex("[2001:db8::1", 9, 1, out, 16, err, sizeof err) == -1);
    CHECK(t2u_resolve_servers_ex("[2001:db8::1]x", 9, 1, out, 16, err, sizeof err) == -1);
    CHECK(t2u_resolve_servers_ex("192.0.2.1", 0, 1, out, 16, err, sizeof err) == -1);
    CHECK(t2u_resolve_servers_ex(" , ", 9, 1, out, 16, err, sizeof err) == -1 && strcmp(err, "no server given") == 0);
    CHECK(t2u_resolve_servers_ex("example.invalid", 9, 1, out, 16, err, sizeof err) == -1 && strstr(err, "cannot resolve"));
    CHECK(t2u_resolve_servers("127.0.0.1:7000,::1", 7001, out, 16, err, sizeof err) == 2 && is(&out[1], "::1", 7001));
}

static void test_candidates(void) {
    t2u_addr hosts[12] = {addr("127.0.0.1", 0),   addr("::1", 0),          addr("fe80::1", 0),
                          addr("fd00::5", 0),     addr("2001:db8::5", 0),  addr("100.64.0.2", 0),
                          addr("100.64.0.2", 0),    addr("0.0.0.0", 0),      addr("224.0.0.1", 0),
                          addr("198.51.100.2", 0), addr("ff02::1", 0),      addr("2001:db8::6", 0)};
    t2u_addr out[8], server = addr("203.0.113.1", 7000), lo6 = addr("::1", 7000);
    size_t n = t2u_choose_candidates(hosts, 12, 4000, &server, out, 8);
    /* IPv4 first, then global IPv6 before unique-local; no loopback, link-local, multicast. */
    CHECK(n == 5 && is(&out[0], "100.64.0.2", 4000) && is(&out[1], "198.51.100.2", 4000));
    CHECK(is(&out[2], "2001:db8::5", 4000) && is(&out[3], "2001:db8::6", 4000) && is(&out[4], "fd00::5", 4000));
    /* The server's loopback address first when the server is on loopback (of its family). */
    n = t2u_choose_candidates(hosts, 12, 4000, &lo6, out, 8);
    CHECK(n == 6 && is(&out[0], "::1", 4000));
    /* IPv4 alone would fill the list: IPv6 keeps two slots. */
    t2u_addr many[10];
    for (int i = 0; i < 9; i++) many[i] = addr("100.64.0.1", 0), many[i].ip[3] = (uint8_t)(i + 1);
    many[9] = addr("2001:db8::9", 0);
    n = t2u_choose_candidates(many, 10, 1, &server, out, 8);
    CHECK(n == 8 && out[6].family == 4 && is(&out[7], "2001:db8::9", 1));
    n = t2u_choose_candidates(many, 9, 1, &server, out, 8);
    CHECK(n == 8 && out[7].family == 4);
    CHECK(t2u_ipv6_class(&hosts[2]) == T2U_V6_LINK_LOCAL && t2u_ipv6_class(&hosts[3]) == T2U_V6_UNIQUE_LOCAL);
    CHECK(t2u_ipv6_class(&hosts[0]) == T2U_V6_NONE && t2u_addr_is_loopback(&hosts[1]));
}

static void test_mapped(void) {
    t2u_addr a = addr("198.51.100.7", 4000), back;
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_to_sockaddr_on(&a, 1, &ss, &len);
    char text[64];
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
    CHECK(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6) && ntohs(s6->sin6_port) == 4000);
    CHECK(inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof text) && strcmp(text, "::ffff:198.51.100.7") == 0);
    CHECK(t2u_from_sockaddr((struct sockaddr *)&ss, &back) == 0 && t2u_addr_equal(&a, &back));
    t2u_to_sockaddr_on(&a, 0, &ss, &len);
    CHECK(ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in));
    a = addr("2001:db8::7", 9);
    t2u_to_sockaddr_on(&a, 1, &ss, &len);
    CHECK(t2u_from_sockaddr((struct sockaddr *)&ss, &back) == 0 && t2u_addr_equal(&a, &back));
}

static void test_scope(void) {
    /* PunchScope with IPv6: the observed host, our IPv6 subnets, at most 2 global IPv6 hosts. */
    t2u_addr observed = addr("2001:db8:1::1", 5000);
    t2u_addr c[6] = {addr("2001:db8:2::1", 6000), addr("2001:db8:3::1", 6000), addr("2001:db8:4::1", 6000),
                     addr("fd00:1::9", 6000), addr("fd00:2::9", 6000), addr("2001:db8:2::1", 6001)};
    t2u_subnet6 ours[1] = {{.prefix = 64}};
    memcpy(ours[0].ip, addr("fd00:1::1", 0).ip, 16);
    static t2u_punch_plan p;
    int n = t2u_punch_plan_init(&p, 7, &observed, c, 6, NULL, NULL, 0, ours, 1, 0);
    /* kept: 2001:db8:2::1 (both ports), 2001:db8:3::1, fd00:1::9 (our subnet), then the observed */
    CHECK(n == 5 && is(&p.targets[0], "2001:db8:2::1", 6000) && is(&p.targets[1], "2001:db8:3::1", 6000));
    CHECK(is(&p.targets[2], "fd00:1::9", 6000) && is(&p.targets[3], "2001:db8:2::1", 6001));
    CHECK(t2u_addr_equal(&p.targets[4], &observed) && t2u_addr_equal(&p.reflexive, &observed));
    CHECK(t2u_punch_scope_allows(&c[3], &observed, NULL, NULL, 0, ours, 1) && !t2u_punch_scope_allows(&c[4], &observed, NULL, NULL, 0, ours, 1));
    /* An IPv6 reflexive address gets no NAT strategies (no NAT to predict). */
    t2u_traversal_config cfg;
    t2u_traversal_config_default(&cfg);
    CHECK(t2u_punch_plan_strategies(&p, (t2u_nat){3, 0}, (t2u_nat){2, 0}, &cfg) & T2U_STRAT_BIRTHDAY);
    CHECK(p.sockets == 0 && p.nspray == 0 && p.npredicted == 0);
}

/* The agent's socket against a fake server on loopback: the HELLO arrives from the agent's port
 * (as IPv4 from a dual-stack socket, or IPv6), and a bare ERROR(serverKeyRejected) back to it is
 * taken as the server's (status KEY_REJECTED): both directions of one family work. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int last_status = -1;
static void on_status(void *ctx, int status, const char *message) {
    (void)ctx, (void)message;
    pthread_mutex_lock(&lock);
    last_status = status;
    pthread_mutex_unlock(&lock);
}

static void test_agent_socket(int family, const char *host) {
    int fd = socket(family, SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    t2u_addr lo = addr(host, 0), from;
    t2u_to_sockaddr(&lo, &ss, &len);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0) {
        printf("test_net: no %s socket here: agent socket test skipped\n", host);
        if (fd >= 0) close(fd);
        return;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    t2u_from_sockaddr((struct sockaddr *)&ss, &lo);
    char server[64];
    snprintf(server, sizeof server, family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, lo.port);
    t2u_agent_config config = {.uuid = "NET-TEST", .server = server, .server_port = 1, .log_level = T2U_LOG_ERROR + 1 /* quiet */,
                               .on_status = on_status};
    char err[256];
    last_status = -1;
    t2u_agent *agent = t2u_agent_start(&config, err, sizeof err);
    CHECK(agent != NULL);
    if (!agent) {
        close(fd);
        return;
    }
    uint8_t buf[2048];
    struct pollfd pfd = {fd, POLLIN, 0};
    ssize_t n = -1;
    len = sizeof ss;
    if (poll(&pfd, 1, 5000) == 1) n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &len);
    CHECK(n >= 64 && buf[0] == 0x20 && t2u_from_sockaddr((struct sockaddr *)&ss, &from) == 0);
    CHECK(from.family == lo.family && from.port == t2u_agent_port(agent));
    if (n >= 5) {
        uint8_t error[6] = {0x24, buf[1], buf[2], buf[3], buf[4], 1};
        sendto(fd, error, sizeof error, 0, (struct sockaddr *)&ss, len);
    }
    int status = -1;
    for (int i = 0; i < 100 && status != T2U_AGENT_KEY_REJECTED; i++) {
        struct timespec pause = {0, 20 * 1000000};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&lock);
        status = last_status;
        pthread_mutex_unlock(&lock);
    }
    CHECK(status == T2U_AGENT_KEY_REJECTED);
    t2u_agent_stop(agent);
    close(fd);
}

int main(void) {
    test_server_lists();
    test_candidates();
    test_mapped();
    test_scope();
    test_agent_socket(AF_INET, "127.0.0.1");
    test_agent_socket(AF_INET6, "::1");
    printf("test_net: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
