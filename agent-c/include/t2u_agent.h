/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */
/* t2u device agent, library form: for vendors who run the agent inside their own firmware
 * process. One agent per process: start it with a configuration, get status callbacks (from
 * the agent's thread), stop it. Link with libt2uagent.a, libsodium and -lpthread. */
#ifndef T2U_AGENT_H
#define T2U_AGENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum t2u_agent_status {
    T2U_AGENT_CONNECTING = 0,   /* registering (or registering again) */
    T2U_AGENT_REGISTERED = 1,   /* the server accepted the registration */
    T2U_AGENT_KEY_REJECTED = 2, /* the server's key is not the pinned svrkey (t2u_status -2) */
    T2U_AGENT_REFUSED = 3,      /* identity conflict, not enrolled or capacity: retrying slowly */
    T2U_AGENT_STOPPED = 4
};

enum t2u_agent_log { T2U_LOG_TRACE, T2U_LOG_DEBUG, T2U_LOG_INFO, T2U_LOG_NOTICE, T2U_LOG_WARNING, T2U_LOG_ERROR };

typedef struct {
    const char *uuid;          /* 1-64 printable ASCII bytes without spaces */
    const char *server;        /* host, host:port, [v6]:port; several comma-separated */
    uint16_t server_port;      /* for entries without a port */
    const char *server_key;    /* svrkey, 64 hex digits; NULL or "": unpinned (warned) */
    const char *password;      /* NULL: none */
    const char *extra;         /* NULL or <= 512 bytes, returned by t2u_query_ex */
    const char *const *allow;  /* LAN targets clients may reach (ForwardingPolicy entries) */
    size_t nallow;
    const char *state_path;    /* key file (created 0600); NULL: key in memory only */
    const char *rotate_from;   /* key rotation: the old key file (then state_path is the new one) */
    const uint8_t *certificate;/* vendor certificate (97 bytes) or NULL */
    size_t certificate_len;
    uint16_t udp_port;         /* 0: any */
    uint16_t discovery_port;   /* answer LAN discovery (t2u search) here, usually 7011; 0: off */
    const char *discovery_group; /* IPv4 multicast group; NULL: 239.255.75.50 (IPv6: ff02::7011, same port) */
    int log_level;             /* enum t2u_agent_log; messages go to stderr */
    /* Auxiliary UDP sockets for birthday probing when this device's NAT is random endpoint-
     * dependent (symmetric) and the client's endpoint-independent: 0...512, 0 none (such a
     * client then uses the relay). t2usvr-c's default (--birthday-sockets) is 256. */
    int birthday_sockets;
    /* The server's TCP fallback port, tried only while UDP to the server goes unanswered
     * (docs/protocol/tcp-fallback.md; plain HTTP upgrade, no TLS); 0: off. t2usvr-c's default
     * (--tcp-port) is 443, as the Swift t2usvr's. */
    uint16_t tcp_port;
    /* Called on the agent's thread at every status change; message is for people. */
    void (*on_status)(void *ctx, int status, const char *message);
    void *ctx;
} t2u_agent_config;

typedef struct t2u_agent t2u_agent;

/* Checks the configuration, loads (or creates) the key, binds the socket and starts the agent's
 * thread. NULL on failure with a message in err. */
t2u_agent *t2u_agent_start(const t2u_agent_config *config, char *err, size_t errcap);
/* Stops the thread, closes sockets, frees everything. */
void t2u_agent_stop(t2u_agent *agent);
/* The device's public key (what clients pin), 32 bytes. */
void t2u_agent_public_key(const t2u_agent *agent, uint8_t out[32]);
/* The UDP port the agent's socket is bound to. */
uint16_t t2u_agent_port(const t2u_agent *agent);

#ifdef __cplusplus
}
#endif
#endif
