/* The TLS engine: one context per scenario, one session per connection.
 * The only module that includes wolfSSL's headers (besides pki). Like
 * BearSSL, a session does no I/O itself: it pulls ciphertext from and pushes
 * ciphertext to the caller's buffers through struct zoo_tls_io. */
#ifndef ZOO_TLS_H
#define ZOO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pki.h"
#include "scenario.h"

struct zoo_tls_ctx;
struct zoo_tls;

/* The caller's byte pipes. recv returns bytes copied, 0 when nothing is
 * buffered yet, -1 at end of stream; send takes all of LEN or returns -1. */
struct zoo_tls_io {
    void *arg;
    int (*recv)(void *arg, char *buf, int len);
    int (*send)(void *arg, const char *buf, int len);
};

/* Results of the session calls below. */
enum zoo_tls_status {
    ZOO_TLS_OK = 0,
    ZOO_TLS_WANT_READ = 1,
    ZOO_TLS_CLOSED = 2, /* peer closed (close_notify or end of stream) */
    ZOO_TLS_FAILED = -1,
};

/* Initialises and releases the library for the whole process. */
int zoo_tls_global_init(void);
void zoo_tls_global_cleanup(void);

/* Checks what only the TLS library can judge (cipher names, version range),
 * reporting "file:line:column: message" into ERR. 0 or ZOO_EINVAL. */
int zoo_tls_check(const struct zoo_scenario *s, char *err, size_t len);

/* The suites S's server will accept, in preference order, colon-separated
 * into BUF. 0 or ZOO_ETLS. */
int zoo_tls_effective_ciphers(const struct zoo_scenario *s, char *buf, size_t len);

/* Builds S's context presenting LEAF; CLIENT_CA is the PEM file of the CA
 * that client certificates must chain to. NULL on failure, with ERR. */
struct zoo_tls_ctx *zoo_tls_ctx_new(const struct zoo_scenario *s, const struct zoo_leaf *leaf,
                                    const char *client_ca, char *err, size_t len);
void zoo_tls_ctx_free(struct zoo_tls_ctx *ctx);

/* A session over IO (copied); NULL when out of memory. */
struct zoo_tls *zoo_tls_new(struct zoo_tls_ctx *ctx, const struct zoo_tls_io *io);
void zoo_tls_free(struct zoo_tls *tls);

int zoo_tls_handshake(struct zoo_tls *tls);
/* Reads decrypted bytes; *GOT is set when ZOO_TLS_OK. */
int zoo_tls_read(struct zoo_tls *tls, char *buf, size_t len, size_t *got);
int zoo_tls_write(struct zoo_tls *tls, const char *buf, size_t len);
/* Sends close_notify; no reply is awaited. */
void zoo_tls_close(struct zoo_tls *tls);

/* What a session knows once it has ended or completed the handshake. */
struct zoo_tls_info {
    char version[16]; /* negotiated; empty before the handshake completed */
    char cipher[64];
    char alpn[64];            /* the protocol chosen, or "" */
    char client_subject[256]; /* the client's certificate, if it sent one */
    char client_issuer[256];
    int alert_received; /* last fatal alert code each way, -1 if none */
    int alert_sent;
    char error[128]; /* the library's text for the first failure, or "" */
};

void zoo_tls_get_info(struct zoo_tls *tls, struct zoo_tls_info *out);

/* Appends NSS key log lines (for Wireshark) of every later session to OUT;
 * NULL turns it off. Call before building contexts. */
void zoo_tls_set_keylog(FILE *out);

#endif
