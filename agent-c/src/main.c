/* t2usvr-c: the device agent's command line, the same as t2usvr's:
 *   t2usvr-c <uuid> <server> <port> [key] [options]   (runs until SIGINT/SIGTERM) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../include/t2u_agent.h"
#include "crypto.h"
#include "identity.h"
#include "keyfile.h"
#include "log.h"

static const char usage[] =
    "USAGE: t2usvr <uuid> <server> <port> [<key>] [--password <password>] [--password-file <path>]\n"
    "              [--extra <extra>] [--allow <entry> ...] [--state <path>] [--udp-port <udp-port>]\n"
    "              [--no-discovery] [--discovery-port <port>] [--log-level <level>] [--cert <path>]\n"
    "              [--print-public-key] [--rotate-key] [--birthday-sockets <n>]\n"
    "\n"
    "t2u device agent (C): registers this device with a t2u server and serves tunnels to it.\n"
    "Secrets off the command line: --password-file PATH or T2U_PASSWORD; the server key from\n"
    "T2U_SERVER_KEY when not given as the fourth argument.\n"
    "--birthday-sockets N: auxiliary UDP sockets (0...512, default 256; 0 none) opened per\n"
    "introduction when this device's NAT is symmetric and the client's a cone.\n";

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static int fail(const char *fmt, const char *a) {
    fprintf(stderr, "Error: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return 1;
}

static int parse_port(const char *s, uint16_t *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 65535) return -1;
    *out = (uint16_t)v;
    return 0;
}

static int read_text(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return 0;
}

int main(int argc, char **argv) {
    const char *positional[4] = {0};
    int npos = 0;
    const char *password = NULL, *password_file = NULL, *extra = "", *state = NULL, *cert = NULL, *level = "info";
    const char *allow[64];
    size_t nallow = 0;
    uint16_t port = 0, udp_port = 0, discovery_port = 7011;
    int birthday_sockets = 256;
    int print_key = 0, rotate = 0, no_discovery = 0;
    char err[512];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (npos == 4) return fail("unexpected argument '%s'", arg);
            positional[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--no-discovery") == 0) { no_discovery = 1; continue; }
        if (strcmp(arg, "--print-public-key") == 0) { print_key = 1; continue; }
        if (strcmp(arg, "--rotate-key") == 0) { rotate = 1; continue; }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name) return fail("unknown option '%s'", arg);
        memcpy(name, arg, nlen);
        name[nlen] = 0;
        if (eq) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else return fail("missing value for '%s'", name);
        if (strcmp(name, "--password") == 0) password = value;
        else if (strcmp(name, "--password-file") == 0) password_file = value;
        else if (strcmp(name, "--extra") == 0) extra = value;
        else if (strcmp(name, "--allow") == 0) {
            if (nallow == sizeof allow / sizeof allow[0]) return fail("too many --allow entries (at most 64): '%s'", value);
            allow[nallow++] = value;
        } else if (strcmp(name, "--state") == 0) state = value;
        else if (strcmp(name, "--cert") == 0) cert = value;
        else if (strcmp(name, "--log-level") == 0) level = value;
        else if (strcmp(name, "--udp-port") == 0) {
            if (parse_port(value, &udp_port) != 0) return fail("invalid --udp-port '%s'", value);
        } else if (strcmp(name, "--discovery-port") == 0) {
            if (parse_port(value, &discovery_port) != 0) return fail("invalid --discovery-port '%s'", value);
        } else if (strcmp(name, "--birthday-sockets") == 0) {
            char *end;
            long v = strtol(value, &end, 10);
            if (!*value || *end || v < 0 || v > 512) return fail("invalid --birthday-sockets '%s': expected 0...512", value);
            birthday_sockets = (int)v;
        } else return fail("unknown option '%s'", name);
    }
    int log_level = t2u_log_parse(level);
    if (log_level < 0) return fail("unknown --log-level '%s'", level);
    t2u_log_level = log_level;
    if ((print_key || rotate || cert) && !state)
        return fail("%s", "--print-public-key, --rotate-key and --cert need --state FILE (the device key they refer to)");
    if (t2u_crypto_init() != 0) return fail("%s", "libsodium failed to initialise");
    if (print_key) {
        uint8_t priv[32], pub[32];
        char hex[65];
        if (t2u_keyfile_load(state, "state file", 1, priv, err, sizeof err) != 0) return fail("%s", err);
        t2u_x25519_public(pub, priv);
        t2u_wipe(priv, sizeof priv);
        t2u_hex_encode(hex, pub, 32);
        puts(hex);
        return 0;
    }
    if (npos < 3) {
        fputs(usage, stderr);
        return fail("%s", "missing arguments: <uuid> <server> <port>");
    }
    if (parse_port(positional[2], &port) != 0) return fail("invalid port '%s'", positional[2]);

    t2u_agent_config c;
    memset(&c, 0, sizeof c);
    c.uuid = positional[0];
    c.server = positional[1];
    c.server_port = port;
    c.server_key = positional[3] ? positional[3] : getenv("T2U_SERVER_KEY");
    c.extra = extra;
    c.allow = allow;
    c.nallow = nallow;
    c.state_path = state;
    c.udp_port = udp_port;
    c.discovery_port = no_discovery ? 0 : discovery_port;
    c.log_level = log_level;
    c.birthday_sockets = birthday_sockets;

    static char password_buf[1025];
    if (password) {
        t2u_log(T2U_LOG_WARNING, "--password is visible to other users in the process list; prefer --password-file or "
                                 "the environment variable T2U_PASSWORD");
        c.password = password;
    } else if (password_file) {
        if (t2u_secret_load(password_file, "password file", password_buf, sizeof password_buf, err, sizeof err) != 0)
            return fail("%s", err);
        c.password = password_buf;
    } else {
        c.password = getenv("T2U_PASSWORD");
    }

    /* Key rotation: a new key in <state>.new, registered with a proof by the old one; an
     * interrupted rotation (the .new file exists) continues. */
    static char new_path[4096];
    struct stat st;
    snprintf(new_path, sizeof new_path, "%s.new", state ? state : "");
    if (state && (rotate || lstat(new_path, &st) == 0)) {
        t2u_log(T2U_LOG_NOTICE, "rotating the device key: registering the new key (%s) with a proof by the old one", new_path);
        c.rotate_from = state;
        c.state_path = new_path;
    }
    static uint8_t certificate[T2U_CERT_LEN];
    if (cert) {
        static char text[4096];
        uint8_t priv[32], pub[32];
        char hex[65];
        if (read_text(cert, text, sizeof text) != 0) {
            snprintf(err, sizeof err, "cannot read --cert %s: %s", cert, strerror(errno));
            return fail("%s", err);
        }
        if (t2u_cert_parse(text, certificate, err, sizeof err) != 0) {
            char msg[700];
            snprintf(msg, sizeof msg, "--cert %s: %s", cert, err);
            return fail("%s", msg);
        }
        if (t2u_keyfile_load(c.state_path, "state file", 1, priv, err, sizeof err) != 0) return fail("%s", err);
        t2u_x25519_public(pub, priv);
        t2u_wipe(priv, sizeof priv);
        t2u_hex_encode(hex, pub, 32);
        /* The server checks the signature (notEnrolled says so); say what it must cover. */
        t2u_log(T2U_LOG_INFO, "--cert %s: sent as is; it must certify UUID %s with device key %s (t2u cert issue "
                "--ca-key CA.key --uuid %s --device-key %s)", cert, c.uuid, hex, c.uuid, hex);
        c.certificate = certificate;
        c.certificate_len = T2U_CERT_LEN;
    }

    /* Catch signals before starting, so one arriving during start still shuts down cleanly. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the agent's thread inherits the mask */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    t2u_agent *agent = t2u_agent_start(&c, err, sizeof err);
    if (!agent) return fail("%s", err);
    while (!stop_requested) sigsuspend(&old);
    t2u_log(T2U_LOG_NOTICE, "signal received, shutting down");
    t2u_agent_stop(agent);
    return 0;
}
