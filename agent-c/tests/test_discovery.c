/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* LAN discovery (DiscoveryGate): the decision over IPv6 and IPv4 on a made-up interface list
 * (sources answered and refused, rates per source and in all, the reply no larger than the
 * request, the address a reply names per interface), then the responder's two sockets on
 * loopback: a padded SEARCH to [::1] names ::1, one to 127.0.0.1 is answered once (IPv4 only on
 * its own socket). The multicast path over IPv6 needs two hosts: tests/discovery6.sh (root). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery.h"

#include "check.h"

static t2u_addr addr(const char *text) {
    t2u_addr a = {0};
    if (inet_pton(AF_INET, text, a.ip) == 1) a.family = 4;
    else if (inet_pton(AF_INET6, text, a.ip) == 1) a.family = 6;
    return a;
}

static t2u_subnet6 subnet(const char *text, uint8_t prefix, unsigned ifindex) {
    t2u_subnet6 s = {.prefix = prefix, .ifindex = ifindex};
    t2u_addr a = addr(text);
    memcpy(s.ip, a.ip, 16);
    return s;
}

static int ip_is(const uint8_t *ip, const char *text) {
    t2u_addr a = addr(text);
    return memcmp(ip, a.ip, a.family == 6 ? 16 : 4) == 0;
}

/* A SEARCH of `len` bytes (zero padding) for uuid (NULL: every device). */
static size_t search(uint8_t *out, uint32_t id, const char *uuid, size_t len) {
    size_t n = uuid ? strlen(uuid) : 0;
    memset(out, 0, len);
    out[0] = T2U_SEARCH;
    out[1] = (uint8_t)(id >> 24), out[2] = (uint8_t)(id >> 16), out[3] = (uint8_t)(id >> 8), out[4] = (uint8_t)id;
    out[5] = (uint8_t)n;
    memcpy(out + 6, uuid ? uuid : "", n);
    return len;
}

/* The interfaces: lo (1) ::1/128; eth0 (2) link-local, a global and a ULA /64; wlan0 (3) link-local only. */
static void fake_host(t2u_discovery *d, const char *uuid) {
    memset(d, 0, sizeof *d);
    d->fd = d->fd6 = -1;
    d->uuid = uuid;
    d->agent_port = 7000;
    d->subnets6[0] = subnet("::1", 128, 1);
    d->subnets6[1] = subnet("fe80::1", 64, 2);
    d->subnets6[2] = subnet("2001:db8:77::1", 64, 2);
    d->subnets6[3] = subnet("fd00:77::1", 64, 2);
    d->subnets6[4] = subnet("fe80::3", 64, 3);
    d->nsubnets6 = 5;
    d->addr[0] = 0x7F000001, d->mask[0] = 0xFF000000;
    d->addr[1] = 0xC0000201, d->mask[1] = 0xFFFFFF00; /* 192.0.2.1/24 */
    d->nsubnets = 2;
    t2u_bucket_init(&d->global, 50, 100, 0);
}

/* The decision on a SEARCH from `from` (to dst on ifindex): the reply's length, its parse in *m. */
static size_t ask(t2u_discovery *d, const uint8_t *q, size_t n, const char *from, unsigned ifindex, const char *dst,
                  uint64_t now, uint8_t *out, t2u_sig_msg *m) {
    t2u_addr src = addr(from), to = addr(dst ? dst : "::");
    d->subnets_read_ms = now; /* the made-up interfaces, never read from the host */
    size_t r = t2u_discovery_decide(d, q, n, &src, ifindex, dst ? to.ip : NULL, now, out, 128);
    if (r && m) CHECK(t2u_sig_parse(out, r, m, NULL) == 0 && m->type == T2U_SEARCH_REPLY);
    return r;
}

static void test_sources6(void) {
    t2u_discovery d;
    fake_host(&d, "CAM");
    const t2u_subnet6 *s = d.subnets6;
    int n = d.nsubnets6;
    CHECK(t2u_discovery_source6_ok(s, n, addr("fe80::99").ip, 3));      /* link-local: on-link */
    CHECK(t2u_discovery_source6_ok(s, n, addr("fe80::99").ip, 2));
    CHECK(t2u_discovery_source6_ok(s, n, addr("fe80:0:0:1::5").ip, 2)); /* fe80::/10, not in our fe80::/64 */
    CHECK(t2u_discovery_source6_ok(s, 0, addr("febf::5").ip, 2));       /* no interfaces read yet */
    CHECK(!t2u_discovery_source6_ok(s, 0, addr("fec0::5").ip, 2));      /* site-local: not on-link */
    CHECK(t2u_discovery_source6_ok(s, n, addr("2001:db8:77::2").ip, 2)); /* our global subnet */
    CHECK(t2u_discovery_source6_ok(s, n, addr("fd00:77::9").ip, 2));     /* our ULA subnet */
    CHECK(!t2u_discovery_source6_ok(s, n, addr("2001:db8:99::2").ip, 2)); /* off-subnet global */
    CHECK(!t2u_discovery_source6_ok(s, n, addr("fd00:99::2").ip, 2));
    CHECK(!t2u_discovery_source6_ok(s, n, addr("ff02::1").ip, 2));        /* multicast */
    CHECK(!t2u_discovery_source6_ok(s, n, addr("ff02::7011").ip, 3));
    CHECK(!t2u_discovery_source6_ok(s, n, addr("::").ip, 2));             /* unspecified */
    CHECK(t2u_discovery_source6_ok(s, n, addr("::1").ip, 1));             /* loopback, on lo */
    CHECK(!t2u_discovery_source6_ok(s, n, addr("::1").ip, 2));            /* loopback from elsewhere */
    CHECK(!t2u_discovery_source6_ok(s, n, addr("::1").ip, 0));
    CHECK(!t2u_discovery_source6_ok(s, n, addr("::ffff:192.0.2.7").ip, 2)); /* IPv4-mapped: not ours */
    /* multicast and unspecified never, even inside a (degenerate) subnet of prefix 0 */
    t2u_subnet6 all = subnet("2001:db8::1", 0, 2);
    CHECK(t2u_discovery_source6_ok(&all, 1, addr("2001:db8:99::2").ip, 2));
    CHECK(!t2u_discovery_source6_ok(&all, 1, addr("ff02::1").ip, 2));
    CHECK(!t2u_discovery_source6_ok(&all, 1, addr("::").ip, 2));
}

static void test_named6(void) {
    t2u_discovery d;
    fake_host(&d, "CAM");
    uint8_t out[16];
    /* multicast query: the interface's first global or ULA address; link-local only: :: */
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 2, addr("ff02::7011").ip, out);
    CHECK(ip_is(out, "2001:db8:77::1"));
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 3, addr("ff02::7011").ip, out);
    CHECK(ip_is(out, "::"));
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 9, addr("ff02::7011").ip, out); /* unknown interface */
    CHECK(ip_is(out, "::"));
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 2, NULL, out);                  /* no packet info */
    CHECK(ip_is(out, "2001:db8:77::1"));
    /* unicast to a global, ULA or loopback address: that address; to a link-local one: the interface's */
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 2, addr("fd00:77::1").ip, out);
    CHECK(ip_is(out, "fd00:77::1"));
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 1, addr("::1").ip, out);
    CHECK(ip_is(out, "::1"));
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 2, addr("fe80::1").ip, out);
    CHECK(ip_is(out, "2001:db8:77::1"));
    t2u_discovery_name6(d.subnets6, d.nsubnets6, 3, addr("fe80::3").ip, out);
    CHECK(ip_is(out, "::"));
    /* the order of the interface's addresses decides: a ULA listed first is named */
    t2u_subnet6 ula_first[] = {subnet("fe80::1", 64, 4), subnet("fd00:5::1", 64, 4), subnet("2001:db8:5::1", 64, 4)};
    t2u_discovery_name6(ula_first, 3, 4, addr("ff02::7011").ip, out);
    CHECK(ip_is(out, "fd00:5::1"));
}

static void test_decide6(void) {
    t2u_discovery d;
    fake_host(&d, "CAM-D6");
    uint8_t q[200], out[128];
    t2u_sig_msg m;
    size_t n = search(q, 0x01020304, NULL, T2U_MIN_SEARCH), r;
    /* a link-local source on a link-local-only interface: answered, naming :: with our port */
    r = ask(&d, q, n, "fe80::99", 3, "ff02::7011", 10, out, &m);
    CHECK(r > 0 && r <= n);
    CHECK(m.request_id == 0x01020304 && m.uuid_len == 6 && memcmp(m.uuid, "CAM-D6", 6) == 0);
    CHECK(m.addr.family == 6 && ip_is(m.addr.ip, "::") && m.addr.port == 7000);
    /* a global source on our subnet, on eth0: our global address */
    r = ask(&d, q, n, "2001:db8:77::2", 2, "ff02::7011", 10, out, &m);
    CHECK(r > 0 && m.addr.family == 6 && ip_is(m.addr.ip, "2001:db8:77::1") && m.addr.port == 7000);
    /* ours by UUID: answered; another UUID, unpadded, off-subnet, multicast source: not */
    n = search(q, 5, "CAM-D6", 120);
    CHECK(ask(&d, q, n, "fe80::98", 2, "ff02::7011", 10, out, &m) > 0 && m.request_id == 5);
    n = search(q, 6, "CAM-OTHER", 120);
    CHECK(ask(&d, q, n, "fe80::98", 2, "ff02::7011", 10, out, NULL) == 0);
    n = search(q, 7, NULL, T2U_MIN_SEARCH - 1);
    CHECK(ask(&d, q, n, "fe80::98", 2, "ff02::7011", 10, out, NULL) == 0);
    n = search(q, 8, NULL, T2U_MIN_SEARCH);
    CHECK(ask(&d, q, n, "2001:db8:99::2", 2, "ff02::7011", 10, out, NULL) == 0);
    CHECK(ask(&d, q, n, "ff02::1", 2, "ff02::7011", 10, out, NULL) == 0);
    CHECK(ask(&d, q, n, "::", 2, "ff02::7011", 10, out, NULL) == 0);
    CHECK(ask(&d, q, n, "::1", 2, "2001:db8:77::1", 10, out, NULL) == 0); /* loopback from eth0 */
    r = ask(&d, q, n, "::1", 1, "::1", 10, out, &m);                       /* unicast on loopback */
    CHECK(r > 0 && ip_is(m.addr.ip, "::1"));
    /* not a SEARCH */
    q[0] = T2U_SEARCH_REPLY;
    CHECK(ask(&d, q, n, "fe80::98", 2, "ff02::7011", 10, out, NULL) == 0);

    /* the largest reply (64-byte UUID, IPv6 address) fits in the smallest request */
    char uuid[65];
    memset(uuid, 'U', 64);
    uuid[64] = 0;
    fake_host(&d, uuid);
    n = search(q, 9, NULL, T2U_MIN_SEARCH);
    r = ask(&d, q, n, "2001:db8:77::3", 2, "ff02::7011", 10, out, &m);
    CHECK(r == 25 + 64 && r <= n && m.uuid_len == 64);
}

static void test_rates6(void) {
    t2u_discovery d;
    fake_host(&d, "CAM");
    uint8_t q[T2U_MIN_SEARCH], out[128];
    size_t n = search(q, 1, NULL, sizeof q);
    /* per source: a burst of 5, then 2/s; another source has its own */
    int answered = 0;
    for (int i = 0; i < 8; i++) answered += ask(&d, q, n, "fe80::5", 2, "ff02::7011", 100, out, NULL) > 0;
    CHECK(answered == 5);
    CHECK(ask(&d, q, n, "fe80::6", 2, "ff02::7011", 100, out, NULL) > 0);
    CHECK(ask(&d, q, n, "fe80::5", 2, "ff02::7011", 400, out, NULL) == 0); /* 0.3 s: 0.6 token */
    CHECK(ask(&d, q, n, "fe80::5", 2, "ff02::7011", 600, out, NULL) > 0);  /* 0.5 s: one */
    /* the same interface identifier on another prefix is another source */
    CHECK(ask(&d, q, n, "2001:db8:77::5", 2, "ff02::7011", 600, out, NULL) > 0);
    /* in all: 100 at once (both families), whatever the sources */
    fake_host(&d, "CAM");
    answered = 0;
    char from[64];
    for (int i = 0; i < 120; i++) {
        snprintf(from, sizeof from, i % 2 ? "fe80::%x" : "192.0.2.%d", i % 2 ? 0x100 + i : 2 + i);
        answered += ask(&d, q, n, from, 2, "ff02::7011", 1000, out, NULL) > 0;
    }
    CHECK(answered == 100);
    CHECK(ask(&d, q, n, "fe80::7", 2, "ff02::7011", 1100, out, NULL) > 0); /* 0.1 s: 5 more */
}

static void test_decide4(void) {
    t2u_discovery d;
    fake_host(&d, "CAM");
    uint8_t q[T2U_MIN_SEARCH], out[128];
    t2u_sig_msg m;
    size_t n = search(q, 3, NULL, sizeof q);
    CHECK(ask(&d, q, n, "192.0.2.7", 0, NULL, 10, out, &m) == 13 + 3);
    CHECK(m.addr.family == 4 && ip_is(m.addr.ip, "192.0.2.1") && m.addr.port == 7000);
    CHECK(ask(&d, q, n, "127.0.0.1", 0, NULL, 10, out, &m) > 0 && ip_is(m.addr.ip, "127.0.0.1"));
    CHECK(ask(&d, q, n, "192.0.2.255", 0, NULL, 10, out, NULL) == 0); /* broadcast */
    CHECK(ask(&d, q, n, "192.0.2.0", 0, NULL, 10, out, NULL) == 0);   /* network */
    CHECK(ask(&d, q, n, "198.51.100.1", 0, NULL, 10, out, NULL) == 0); /* off-subnet */
    int answered = 0;
    for (int i = 0; i < 7; i++) answered += ask(&d, q, n, "192.0.2.8", 0, NULL, 10, out, NULL) > 0;
    CHECK(answered == 5);
}

/* The responder's sockets on loopback: IPv6 to [::1] and IPv4 to 127.0.0.1, each answered once. */
static void test_loopback(void) {
    /* a free port for both families (the responder binds both with SO_REUSEPORT) */
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof s6;
    if (probe < 0 || bind(probe, (struct sockaddr *)&s6, sizeof s6) != 0) {
        printf("test_discovery: no IPv6 loopback here: the loopback test skipped\n");
        if (probe >= 0) close(probe);
        return;
    }
    getsockname(probe, (struct sockaddr *)&s6, &len);
    uint16_t port = ntohs(s6.sin6_port);
    close(probe);
    t2u_discovery d;
    char err[200];
    CHECK(t2u_discovery_start(&d, "239.255.75.50", port, "CAM-LO", 7123, 1, err, sizeof err) == 0);
    CHECK(d.fd >= 0 && d.fd6 >= 0);
    if (d.fd < 0 || d.fd6 < 0) {
        t2u_discovery_stop(&d);
        return;
    }
    uint8_t q[T2U_MIN_SEARCH], out[256];
    size_t n = search(q, 77, NULL, sizeof q);
    for (int family = AF_INET6; family; family = family == AF_INET6 ? AF_INET : 0) {
        int c = socket(family, SOCK_DGRAM, 0);
        struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7F000001)};
        s6.sin6_port = htons(port);
        CHECK(c >= 0 && sendto(c, q, n, 0, family == AF_INET6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
                               family == AF_INET6 ? sizeof s6 : sizeof s4) == (ssize_t)n);
        /* the responder's sockets: the query on the one of its family only */
        struct pollfd p[2] = {{d.fd, POLLIN, 0}, {d.fd6, POLLIN, 0}};
        CHECK(poll(p, 2, 2000) == 1);
        CHECK(!(p[family == AF_INET6 ? 0 : 1].revents & POLLIN));
        t2u_discovery_service(&d, family == AF_INET6 ? d.fd6 : d.fd, 2);
        struct pollfd r = {c, POLLIN, 0};
        CHECK(poll(&r, 1, 2000) == 1);
        ssize_t got = recv(c, out, sizeof out, MSG_DONTWAIT);
        t2u_sig_msg m;
        CHECK(got > 0 && (size_t)got <= n && t2u_sig_parse(out, (size_t)got, &m, NULL) == 0);
        CHECK(got > 0 && m.type == T2U_SEARCH_REPLY && m.request_id == 77 && m.addr.port == 7123);
        CHECK(got > 0 && ip_is(m.addr.ip, family == AF_INET6 ? "::1" : "127.0.0.1") &&
              m.addr.family == (family == AF_INET6 ? 6 : 4));
        CHECK(poll(&r, 1, 100) == 0); /* one reply */
        close(c);
    }
    CHECK(d.answered == 2);
    t2u_discovery_stop(&d);
}

int main(void) {
    test_sources6();
    test_named6();
    test_decide6();
    test_rates6();
    test_decide4();
    test_loopback();
    printf("test_discovery: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
