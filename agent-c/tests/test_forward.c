/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* The allow policy (ForwardingPolicy's entries and semantics) and the stream target header. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "forward.h"

#include "check.h"

static t2u_policy policy;

static int parses(const char *entry) {
    char err[512];
    const char *e[1] = {entry};
    return t2u_policy_parse(&policy, e, 1, err, sizeof err) == 0;
}

static int allows(const char *host, uint16_t port) {
    uint8_t ip[16];
    if (inet_pton(AF_INET, host, ip) == 1) return t2u_policy_allows(&policy, 4, ip, port);
    if (inet_pton(AF_INET6, host, ip) == 1) return t2u_policy_allows(&policy, 6, ip, port);
    return -1;
}

int main(void) {
    /* The device itself always; nothing else without an entry. */
    CHECK(parses("198.51.100.20:554"));
    CHECK(allows("127.0.0.1", 22) == 1 && allows("::1", 22) == 1 && allows("::ffff:127.0.0.1", 22) == 1);
    CHECK(allows("127.0.0.2", 22) == 0 && allows("2001:db8::1", 554) == 0);
    CHECK(allows("198.51.100.20", 554) == 1 && allows("198.51.100.20", 555) == 0 && allows("198.51.100.21", 554) == 0);
    /* IPv4-mapped IPv6 is matched as the IPv4 address it carries. */
    CHECK(allows("::ffff:198.51.100.20", 554) == 1 && allows("::ffff:198.51.100.21", 554) == 0);

    /* A host alone: every port. Networks, port lists and ranges. */
    CHECK(parses("203.0.113.5") && allows("203.0.113.5", 1) == 1 && allows("203.0.113.5", 65535) == 1);
    CHECK(parses("198.51.100.0/24:554,8000-8100"));
    CHECK(allows("198.51.100.77", 8050) == 1 && allows("198.51.100.77", 8101) == 0 && allows("198.51.101.1", 554) == 0);
    CHECK(parses("*:80") && allows("192.0.2.1", 80) == 1 && allows("2001:db8::5", 80) == 1 && allows("192.0.2.1", 81) == 0);
    CHECK(parses("0.0.0.0/0:443") && allows("192.0.2.1", 443) == 1 && allows("2001:db8::5", 443) == 0);

    /* IPv6: bare (every port), bracketed with ports, networks of any length. */
    CHECK(parses("2001:db8::1") && allows("2001:db8::1", 9) == 1 && allows("2001:db8::2", 9) == 0);
    CHECK(parses("[2001:db8::/32]:443") && allows("2001:db8:ffff::1", 443) == 1 && allows("2001:db9::1", 443) == 0);
    CHECK(allows("2001:db8::1", 80) == 0);
    CHECK(parses("[2001:db8:0:1::/61]") && allows("2001:db8:0:7::9", 1) == 1 && allows("2001:db8:0:8::9", 1) == 0);
    CHECK(parses("[::ffff:198.51.100.0/120]:22") && policy.rules[0].family == 4 && policy.rules[0].prefix == 24);
    CHECK(allows("198.51.100.9", 22) == 1 && allows("::ffff:198.51.100.9", 22) == 1 && allows("198.51.101.9", 22) == 0);
    CHECK(parses("[2001:db8::1]:80,443") && allows("2001:db8::1", 443) == 1 && allows("2001:db8::1", 444) == 0);

    /* Refused, naming why. */
    const char *bad[] = {"", "198.51.100.0/33:80", "2001:db8::/129", "[2001:db8::1", "[2001:db8::1]80", "1.2.3.4:0",
                         "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:80,", "1.2.3.4:90-80", "1.2.3.4:+80", "1.2.3.4/:80",
                         "1.2.3:80", "host.example:80", "2001:db8:::1", "[1.2.3.4/8x]:80", "1.2.3.4/0008:1",
                         "1.2.3.4:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!parses(bad[i]));
        if (parses(bad[i])) fprintf(stderr, "  accepted: '%s'\n", bad[i]);
    }
    char err[512];
    const char *e[1] = {"1.2.3.4:99999"};
    CHECK(t2u_policy_parse(&policy, e, 1, err, sizeof err) == -1 && strstr(err, "'1.2.3.4:99999'") && strstr(err, "port"));

    /* Target header: the device itself, IPv4, IPv6; truncations need more; bad bytes refused. */
    uint8_t h6[] = {0xA1, 0, 6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xBB};
    uint8_t ip[16];
    size_t need;
    int family;
    uint16_t port;
    CHECK(t2u_target_parse(h6, sizeof h6, &need, &family, ip, &port) == 21 && family == 6 && port == 443 && ip[15] == 1);
    for (size_t cut = 0; cut < sizeof h6; cut++) CHECK(t2u_target_parse(h6, cut, &need, &family, ip, &port) == 0 && need > cut);
    h6[2] = 5;
    CHECK(t2u_target_parse(h6, sizeof h6, &need, &family, ip, &port) == -1);

    printf("test_forward: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
