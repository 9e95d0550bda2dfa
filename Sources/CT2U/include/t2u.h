/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */

/*
 * t2u.h - the C API of libt2u (TCP through NAT, peer to peer).
 *
 * The names, signatures, struct layouts and return codes are those of the Libt2u manual
 * (spec/API.md): a program written from the manual compiles against this header and links
 * against libt2u.so unchanged. Every function is thread safe. Callbacks run on an SDK thread
 * and must not block.
 */
#ifndef T2U_H
#define T2U_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _T2U_CALLBACK
{
    /* The P2P link of a mapped port is up; usetime: milliseconds it took. */
    void (*OnConnect)(unsigned short local_port, int usetime);
    /* The link went down. ret: -2 P2P failed, -3 P2P interrupted, -4 peer offline,
     * -5 device password rejected; extension of the manual's codes: -6 device key changed
     * (T2U_DEVICE_KEY_CHANGED, see t2u_port_status). */
    void (*OnDisconnect)(unsigned short local_port, int ret);
} T2uCallBack, *PT2uCallBack;

typedef struct _T2U_NET_STAT
{
    char  ip[20];      /* peer IP; "" when it does not fit (a long IPv6 address): then
                        * t2u_port_peer_address gives it */
    int   port;        /* peer port */
    int   proxy;       /* 1 when relayed through the server */
    float lost_rate;   /* packet loss rate */
    int   bandwidth;   /* estimated max upstream bandwidth, KB/s */
} T2uNetStat, *PT2uNetStat;

typedef struct _T2U_NET_RATE
{
    int64_t total_rcv;      /* total bytes received */
    int64_t total_send;     /* total bytes sent */
    float   cur_rcv_rate;   /* current receive rate, KB/s */
    float   cur_send_rate;  /* current send rate, KB/s */
    float   cur_rate;       /* current total rate, KB/s */
    float   avg_rcv_rate;   /* average receive rate, KB/s */
    float   avg_send_rate;  /* average send rate, KB/s */
    float   avg_rate;       /* average total rate, KB/s */
    int     time_sec;       /* seconds measured */
} T2uNetRate, *PT2uNetRate;

/* Starts the SDK and connects to the server in the background. svrkey NULL: no key. */
void t2u_init(const char* svraddr, unsigned short svrport, const char* svrkey);
/* NULL removes the callbacks. */
void t2u_set_callback(PT2uCallBack callback);
/* UDP ports the SDK may use for P2P links. */
void t2u_set_port_range(unsigned short min_port, unsigned short max_port);
/* Maps remote_port of the device to local_port (0: any). Returns the local port, -1 if it
 * cannot be opened. The P2P link is built in the background. */
int t2u_add_port(const char* uuid, unsigned short remote_port, unsigned short local_port);
int t2u_add_port_ex(const char* uuid, const char* remote_ip, unsigned short remote_port, unsigned short local_port);
int t2u_add_port_v3(const char* uuid, const char* passwd, const char* remote_ip, unsigned short remote_port,
                    unsigned short local_port);
void t2u_del_port(unsigned short port);
/* 1 connected; 0 not yet; -1 no such port; -2 P2P failed, retrying; -3 interrupted, retrying;
 * -4 device offline, retrying; -5 password rejected. stat may be NULL.
 * Extension of the manual's codes: -6 device key changed (T2U_DEVICE_KEY_CHANGED): the device
 * presented a key other than the one pinned for its UUID in the known-devices file, so the link
 * is refused; retried at the usual interval, the status stays -6 while the key differs. The
 * error log names the UUID, both keys and the file line to delete if the change is intended.
 * The file is $T2U_KNOWN_DEVICES, else $XDG_CONFIG_HOME/t2u/known_devices, else
 * ~/.config/t2u/known_devices; one "UUID KEY" line per device, pinned on first contact. A
 * malformed file makes t2u_init fail (logged; every call then returns -1). */
int t2u_port_status(unsigned short port, PT2uNetStat stat);
/* port 0: all ports. 0 ok, -1 no such port. */
int t2u_get_rate(unsigned short port, PT2uNetRate rate);
/* 1 connected to the server; 0 not connected; -1 not initialised; -2 server key rejected. */
int t2u_status(void);
/* 1 online; 0 offline; -1 query failed. */
int t2u_query(const char* uuid);
int t2u_query_ex(const char* uuid, char* buff, int buffsize, char* ipaddr, int ipsize);
/* One line per device, "uuid=xxx,ip=x.x.x.x"; returns the count, -1 on failure.
 * Extensions: works before t2u_init (LAN search needs no server). Writes only whole lines, as
 * many as fit in buffsize (with the NUL) and returns how many it wrote; -1 when devices were
 * found but not even one line fits (0 always means none found). */
int t2u_search(char* buff, int buffsize);
void t2u_exit(void);
/* Extension: the library's version, e.g. "1.2.0" on a release tag, "1.2.0-3-gabc123def" after one,
 * "0.0.0-gabc123def" from an untagged clone, "-dirty" with local changes, "0.0.0-unknown" when
 * built without git: the string `t2u --version` and the server's /status report. Static storage:
 * valid until the process exits, not to be freed; works before t2u_init. */
const char* t2u_version(void);
/* Extension: the peer IP of a mapped port's P2P link in full (T2uNetStat.ip holds 19 bytes and is
 * left "" for an IPv6 address longer than that): IPv4 dotted ("192.0.2.10") or IPv6 as RFC 5952
 * text without brackets ("2001:db8::10"), NUL-terminated. 0 written (buff "" while the link has no
 * path yet); -1 not initialised, no such port, buff NULL, or buffsize too small for the address
 * (46 bytes always suffice: INET6_ADDRSTRLEN); then buff is "" when buffsize > 0. */
int t2u_port_peer_address(unsigned short port, char* buff, int buffsize);

#ifdef __cplusplus
}
#endif

#endif /* T2U_H */
