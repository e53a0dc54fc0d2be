/* Shared between the load generator's connection code (loadgen.c) and its
 * run loops and report (loadgen_run.c): options, one connection slot, one
 * worker thread with its epoll set and counters. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opts {
    const char *host, *sni, *cafile, *groups, *ciphers, *suites;
    int port, conc, threads, tls; /* tls: 0 either, 12, 13 */
    double duration, timeout;
    int hold;            /* >0: hold mode with this many connections */
    bool hold_handshake; /* hold after the handshake rather than before it */
    double hold_seconds; /* upper bound on holding */
};

enum err_kind { ERR_CONNECT, ERR_ALERT, ERR_TIMEOUT, ERR_RESET, ERR_EOF, ERR_TLS, ERR_KINDS };

enum slot_state { S_IDLE, S_CONNECTING, S_HANDSHAKE, S_CLOSING, S_HELD };

struct worker;

struct slot {
    struct worker *w;
    int fd;
    SSL *ssl;
    enum slot_state st;
    uint32_t events; /* current epoll interest */
    double start;    /* connect (or close_notify) time, monotonic seconds */
    int alert;       /* fatal alert received, or -1 */
};

struct stats {
    uint64_t handshakes, errors[ERR_KINDS], aborted, close_timeouts;
    float *lat; /* milliseconds, one per handshake */
    size_t nlat, cap;
    char first_error[200];
    char version[16], cipher[64];
};

struct worker {
    const struct opts *o;
    SSL_CTX *ctx;
    struct sockaddr_in addr;
    int ep;
    struct slot *slots;
    int nslots, active, held; /* slots in use; of them, held open */
    uint64_t dropped;         /* held connections the server closed */
    struct stats st;
    pthread_t thread;
};

double lg_now(void);
/* Starts a connection in an idle slot; -1 (error counted) if it failed at once. */
int lg_slot_start(struct slot *s);
/* Advances a slot whose socket is ready. */
void lg_slot_event(struct slot *s, uint32_t events);
/* Closes a slot's connection, whatever its state. */
void lg_slot_close(struct slot *s);
/* Fails or ends slots past their time. */
void lg_check_timeouts(struct worker *w, double now);
const char *lg_kind_name(enum err_kind k);

/* Run loops: print the JSON result line(s); return the exit status. */
int lg_run_load(const struct opts *o, SSL_CTX *ctx, const struct sockaddr_in *addr);
int lg_run_hold(const struct opts *o, SSL_CTX *ctx, const struct sockaddr_in *addr);

#endif
