/* Streams to TCP targets (docs/protocol/transport.md §6): the target header, the allow policy
 * (the device itself always; --allow entries IPv4[/len]:port[,port|a-b...]), non-blocking
 * connect, and pumping bytes between a stream's buffers and its TCP socket. */
#ifndef T2U_FORWARD_H
#define T2U_FORWARD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define T2U_TCP_ABORTED 0x544350u /* "TCP", StreamBridge.tcpAbortedErrorCode */
#define T2U_MAX_RULES 32

typedef struct {
    uint32_t net, mask;
    uint16_t lo[8], hi[8];
    int nports;
} t2u_rule;

typedef struct {
    t2u_rule rules[T2U_MAX_RULES];
    int n;
} t2u_policy;

/* 0, or -1 with err naming the entry and what is wrong. */
int t2u_policy_parse(t2u_policy *p, const char *const *entries, size_t n, char *err, size_t errcap);
int t2u_policy_allows(const t2u_policy *p, const uint8_t ip[4], uint16_t port);

/* Target header at the start of `p`: 0 need more bytes (*need set), >0 its length, -1 invalid.
 * family 0 = the device itself, 4 = IPv4 (ip), 6 = IPv6 (refused by this agent). */
int t2u_target_parse(const uint8_t *p, size_t n, size_t *need, int *family, uint8_t ip[16], uint16_t *port);

/* Moves bytes for one stream: header, connect, TCP <-> buffers. Returns poll events wanted. */
short t2u_forward_pump(t2u_conn *c, t2u_stream *st, const t2u_policy *policy, short revents);
/* Closing callback for t2u_conn_collect (nothing to do beyond the close the connection does). */
void t2u_forward_closed(t2u_stream *st);

#endif
