/* wolfSSL contexts built from scenarios, and sessions driven through the
 * connection's own buffers so that every byte passes through our code. */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "error.h"

/* The suites of a scenario that names none: forward secret AEAD only, as in
 * Mozilla's "intermediate" profile. wolfSSL's own default, built with the
 * legacy algorithms the zoo needs, would also accept RC4, 3DES and NULL,
 * a second defect in every scenario. */
static const char secure_ciphers[] =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static const char *ciphers_of(const struct zoo_scenario *s)
{
    return s->ciphers ? s->ciphers : secure_ciphers;
}

static FILE *keylog;

struct zoo_tls_ctx {
    WOLFSSL_CTX *ctx;
};

struct zoo_tls {
    WOLFSSL *ssl;
    struct zoo_tls_io io;
    int last_error; /* sticky: the first failure's wolfSSL error code */
    int own_alert;  /* an alert we sent for wolfSSL, or -1 */
};

int zoo_tls_global_init(void)
{
    return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : ZOO_ETLS;
}

void zoo_tls_global_cleanup(void)
{
    wolfSSL_Cleanup();
}

static int wolf_version(unsigned bit)
{
    switch (bit) {
    case ZOO_TLS10:
        return TLS1_VERSION;
    case ZOO_TLS11:
        return TLS1_1_VERSION;
    case ZOO_TLS12:
        return TLS1_2_VERSION;
    default:
        return TLS1_3_VERSION;
    }
}

/* The method for one version, or the flexible one narrowed to the range. */
static WOLFSSL_CTX *ctx_for_versions(unsigned versions)
{
    unsigned low = versions & -versions, high = low;
    WOLFSSL_CTX *ctx;

    while ((versions & ~(high * 2 - 1)) != 0) {
        high <<= 1;
    }
    ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (ctx == NULL) {
        return NULL;
    }
    if (wolfSSL_CTX_set_min_proto_version(ctx, wolf_version(low)) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_max_proto_version(ctx, wolf_version(high)) != WOLFSSL_SUCCESS) {
        wolfSSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool contiguous(unsigned versions)
{
    unsigned shifted = versions / (versions & -versions);
    return (shifted & (shifted + 1)) == 0;
}

int zoo_tls_check(const struct zoo_scenario *s, char *err, size_t len)
{
    WOLFSSL_CTX *ctx;
    char *list, *save = NULL;
    int ret = 0;

    if (!contiguous(s->versions)) {
        snprintf(err, len, "%s: tls.versions must be a contiguous range (e.g. tls1.0 to tls1.2)\n",
                 s->file);
        return ZOO_EINVAL;
    }
    if (s->ciphers == NULL) {
        return 0;
    }
    if ((ctx = ctx_for_versions(s->versions)) == NULL || (list = strdup(s->ciphers)) == NULL) {
        wolfSSL_CTX_free(ctx);
        return ZOO_ENOMEM;
    }
    for (char *c = strtok_r(list, ":", &save); c != NULL; c = strtok_r(NULL, ":", &save)) {
        if (wolfSSL_CTX_set_cipher_list(ctx, c) != WOLFSSL_SUCCESS) {
            snprintf(err, len,
                     "%s:%d:%d: unknown cipher suite '%s' (OpenSSL-style names, e.g. "
                     "ECDHE-ECDSA-AES128-GCM-SHA256)\n",
                     s->file, s->ciphers_mark.line, s->ciphers_mark.column, c);
            ret = ZOO_EINVAL;
            break;
        }
    }
    free(list);
    wolfSSL_CTX_free(ctx);
    return ret;
}

/* Whether the server can use SUITE (an IANA name) with a KEY certificate:
 * TLS 1.3 suites work with any key, TLS 1.2 suites name their signature
 * algorithm, and DHE needs parameters the zoo does not configure. */
static bool usable(const char *suite, enum zoo_key_type key)
{
    bool rsa = key >= ZOO_KEY_RSA1024;

    if (strstr(suite, "_WITH_") == NULL) {
        return true;
    }
    if (strstr(suite, "_DHE_") != NULL) {
        return false;
    }
    if (strstr(suite, "_ECDSA_") != NULL) {
        return !rsa;
    }
    return strstr(suite, "_RSA_") == NULL || rsa;
}

int zoo_tls_effective_ciphers(const struct zoo_scenario *s, char *buf, size_t len)
{
    /* A server object needs a key; a client one lists the same suites. */
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    WOLFSSL *ssl = NULL;
    WOLF_STACK_OF(WOLFSSL_CIPHER) * suites;
    unsigned low = s->versions & -s->versions, high = low;
    size_t used = 0;
    int ret = ZOO_ETLS;

    while ((s->versions & ~(high * 2 - 1)) != 0) {
        high <<= 1;
    }
    buf[0] = '\0';
    if (ctx == NULL ||
        wolfSSL_CTX_set_min_proto_version(ctx, wolf_version(low)) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_max_proto_version(ctx, wolf_version(high)) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_cipher_list(ctx, ciphers_of(s)) != WOLFSSL_SUCCESS ||
        (ssl = wolfSSL_new(ctx)) == NULL || (suites = wolfSSL_get_ciphers_compat(ssl)) == NULL) {
        goto out;
    }
    for (int i = 0; i < wolfSSL_sk_SSL_CIPHER_num(suites); i++) {
        const char *name = wolfSSL_CIPHER_get_name(wolfSSL_sk_SSL_CIPHER_value(suites, i));
        int n;
        if (!usable(name, s->cert.key)) {
            continue;
        }
        n = snprintf(buf + used, len - used, "%s%s", used ? ":" : "", name);
        if (n < 0 || (size_t)n >= len - used) {
            goto out;
        }
        used += (size_t)n;
    }
    ret = 0;
out:
    wolfSSL_free(ssl);
    wolfSSL_CTX_free(ctx);
    return ret;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    struct zoo_tls *tls = arg;
    int n = tls->io.recv(tls->io.arg, buf, sz);

    (void)ssl;
    if (n == 0) {
        return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    return n < 0 ? WOLFSSL_CBIO_ERR_CONN_CLOSE : n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    struct zoo_tls *tls = arg;

    (void)ssl;
    return tls->io.send(tls->io.arg, buf, sz) < 0 ? WOLFSSL_CBIO_ERR_GENERAL : sz;
}

static int set_groups(WOLFSSL_CTX *ctx, const char *groups)
{
    static const struct {
        const char *name;
        int id;
    } known[] = {{"x25519", WOLFSSL_ECC_X25519},       {"x448", WOLFSSL_ECC_X448},
                 {"secp256r1", WOLFSSL_ECC_SECP256R1}, {"secp384r1", WOLFSSL_ECC_SECP384R1},
                 {"secp521r1", WOLFSSL_ECC_SECP521R1}, {"ffdhe2048", WOLFSSL_FFDHE_2048},
                 {"ffdhe3072", WOLFSSL_FFDHE_3072}};
    int ids[8], n = 0;
    const char *p = groups;

    while (*p != '\0' && n < 8) {
        size_t len = strcspn(p, ":");
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (strlen(known[i].name) == len && strncmp(known[i].name, p, len) == 0) {
                ids[n++] = known[i].id;
            }
        }
        p += len + (p[len] == ':');
    }
    return wolfSSL_CTX_set_groups(ctx, ids, n) == WOLFSSL_SUCCESS ? 0 : ZOO_ETLS;
}

/* A missing or different server_name gets a fatal unrecognized_name alert
 * (RFC 6066 §3). wolfSSL's own strict mode sends handshake_failure when the
 * name is absent, hence this callback. */
static int require_sni(WOLFSSL *ssl, int *alert, void *host)
{
    const char *name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);

    if (name != NULL && strcasecmp(name, host) == 0) {
        return 0;
    }
    *alert = unrecognized_name;
    return fatal_return;
}

static const char *wolf_error(int code, char *buf)
{
    return wolfSSL_ERR_error_string((unsigned long)code, buf);
}

/* Applies everything the scenario says about TLS to CTX; names the failing
 * wolfSSL call in ERR. */
static int configure(WOLFSSL_CTX *ctx, const struct zoo_scenario *s, const struct zoo_leaf *leaf,
                     const char *client_ca, char *err, size_t len)
{
    char why[WOLFSSL_MAX_ERROR_SZ];
    int r;

    if (wolfSSL_CTX_set_cipher_list(ctx, ciphers_of(s)) != WOLFSSL_SUCCESS) {
        snprintf(err, len, "wolfSSL_CTX_set_cipher_list(\"%s\") failed", ciphers_of(s));
        return ZOO_ETLS;
    }
    if (s->groups != NULL && set_groups(ctx, s->groups) != 0) {
        snprintf(err, len, "wolfSSL_CTX_set_groups(%s) failed", s->groups);
        return ZOO_ETLS;
    }
    r = wolfSSL_CTX_use_certificate_chain_buffer_format(
        ctx, (const unsigned char *)leaf->chain_pem, (long)leaf->chain_len, WOLFSSL_FILETYPE_PEM);
    if (r != WOLFSSL_SUCCESS) {
        snprintf(err, len, "wolfSSL_CTX_use_certificate_chain_buffer() failed: %s",
                 wolf_error(r, why));
        return ZOO_ETLS;
    }
    r = wolfSSL_CTX_use_PrivateKey_buffer(ctx, (const unsigned char *)leaf->key_pem,
                                          (long)leaf->key_len, WOLFSSL_FILETYPE_PEM);
    if (r != WOLFSSL_SUCCESS) {
        snprintf(err, len, "wolfSSL_CTX_use_PrivateKey_buffer() failed: %s", wolf_error(r, why));
        return ZOO_ETLS;
    }
    if (s->sni_require) {
        wolfSSL_CTX_set_servername_callback(ctx, require_sni);
        wolfSSL_CTX_set_servername_arg(ctx, s->host);
    }
    if (s->client_auth != ZOO_CLIENT_AUTH_NONE) {
        if ((r = wolfSSL_CTX_load_verify_locations(ctx, client_ca, NULL)) != WOLFSSL_SUCCESS) {
            snprintf(err, len, "wolfSSL_CTX_load_verify_locations(%s) failed: %s", client_ca,
                     wolf_error(r, why));
            return ZOO_ETLS;
        }
        wolfSSL_CTX_set_verify(ctx,
                               WOLFSSL_VERIFY_PEER | (s->client_auth == ZOO_CLIENT_AUTH_REQUIRED
                                                          ? WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                          : 0),
                               NULL);
    } else {
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    }
    return 0;
}

void zoo_tls_set_keylog(FILE *out)
{
    keylog = out;
}

/* wolfSSL formats the NSS key log line; we only store it. */
static void write_keylog(const WOLFSSL *ssl, const char *line)
{
    (void)ssl;
    fprintf(keylog, "%s\n", line);
    fflush(keylog);
}

struct zoo_tls_ctx *zoo_tls_ctx_new(const struct zoo_scenario *s, const struct zoo_leaf *leaf,
                                    const char *client_ca, char *err, size_t len)
{
    struct zoo_tls_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->ctx = ctx_for_versions(s->versions)) == NULL) {
        snprintf(err, len, "scenario '%s': wolfSSL_CTX_new() failed", s->name);
        free(c);
        return NULL;
    }
    if (keylog != NULL) {
        wolfSSL_CTX_set_keylog_callback(c->ctx, write_keylog);
    }
    wolfSSL_CTX_SetIORecv(c->ctx, io_recv);
    wolfSSL_CTX_SetIOSend(c->ctx, io_send);
    if (configure(c->ctx, s, leaf, client_ca, err + strlen(err), len - strlen(err)) != 0) {
        zoo_tls_ctx_free(c);
        return NULL;
    }
    return c;
}

void zoo_tls_ctx_free(struct zoo_tls_ctx *c)
{
    if (c == NULL) {
        return;
    }
    wolfSSL_CTX_free(c->ctx);
    free(c);
}

struct zoo_tls *zoo_tls_new(struct zoo_tls_ctx *ctx, const struct zoo_tls_io *io)
{
    struct zoo_tls *tls = calloc(1, sizeof(*tls));

    if (tls == NULL || (tls->ssl = wolfSSL_new(ctx->ctx)) == NULL) {
        free(tls);
        return NULL;
    }
    /* The zoo answers in HTTP/1.1: offered, it is chosen; else no ALPN at all. */
    if (wolfSSL_UseALPN(tls->ssl, (char *)"http/1.1", 8, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) !=
        WOLFSSL_SUCCESS) {
        wolfSSL_free(tls->ssl);
        free(tls);
        return NULL;
    }
    tls->io = *io;
    tls->own_alert = -1;
    wolfSSL_SetIOReadCtx(tls->ssl, tls);
    wolfSSL_SetIOWriteCtx(tls->ssl, tls);
    return tls;
}

void zoo_tls_free(struct zoo_tls *tls)
{
    if (tls == NULL) {
        return;
    }
    wolfSSL_free(tls->ssl);
    free(tls);
}

/* wolfSSL 5.5 refuses a TLS 1.2 client without a certificate (NO_PEER_CERT)
 * but sends no alert, so the client sees only a close. RFC 5246 §7.4.6 says
 * handshake_failure; our records are still plaintext at that point (we have
 * not sent ChangeCipherSpec), so the alert is written here. */
static void alert_missing_certificate(struct zoo_tls *tls, int error)
{
    WOLFSSL_ALERT_HISTORY h = {{0, 0}, {0, 0}};
    unsigned char record[7] = {21, 3, 3, 0,
                               2,  2, 40}; /* alert, TLS 1.2, fatal, handshake_failure */

    wolfSSL_get_alert_history(tls->ssl, &h);
    if (error != NO_PEER_CERT || h.last_tx.level == alert_fatal ||
        wolfSSL_version(tls->ssl) >= TLS1_3_VERSION) {
        return;
    }
    record[2] = (unsigned char)(wolfSSL_version(tls->ssl) & 0xff);
    if (tls->io.send(tls->io.arg, (const char *)record, sizeof(record)) == 0) {
        tls->own_alert = 40;
    }
}

/* Maps a wolfSSL return value to a status, keeping the first error. */
static int status(struct zoo_tls *tls, int ret)
{
    int e;

    if (ret > 0) {
        return ZOO_TLS_OK;
    }
    e = wolfSSL_get_error(tls->ssl, ret);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
        return ZOO_TLS_WANT_READ;
    }
    if (e == WOLFSSL_ERROR_ZERO_RETURN) {
        return ZOO_TLS_CLOSED;
    }
    if (tls->last_error == 0) {
        tls->last_error = e;
        alert_missing_certificate(tls, e);
    }
    return ZOO_TLS_FAILED;
}

/* wolfSSL logs TLS 1.3 secrets through the key log callback but not a TLS
 * 1.2 server's master secret, so that line (NSS format) is written here. */
static void log_master_secret(struct zoo_tls *tls)
{
    unsigned char random[32], secret[48];
    char line[256];
    size_t used;

    if (keylog == NULL || wolfSSL_version(tls->ssl) >= TLS1_3_VERSION ||
        wolfSSL_get_client_random(tls->ssl, random, sizeof(random)) != sizeof(random) ||
        wolfSSL_SESSION_get_master_key(wolfSSL_get_session(tls->ssl), secret, sizeof(secret)) !=
            sizeof(secret)) {
        return;
    }
    used = (size_t)snprintf(line, sizeof(line), "CLIENT_RANDOM ");
    for (size_t i = 0; i < sizeof(random); i++) {
        used += (size_t)snprintf(line + used, sizeof(line) - used, "%02X", random[i]);
    }
    line[used++] = ' ';
    for (size_t i = 0; i < sizeof(secret); i++) {
        used += (size_t)snprintf(line + used, sizeof(line) - used, "%02X", secret[i]);
    }
    write_keylog(tls->ssl, line);
}

int zoo_tls_handshake(struct zoo_tls *tls)
{
    int st = status(tls, wolfSSL_accept(tls->ssl));

    if (st == ZOO_TLS_OK) {
        log_master_secret(tls);
    }
    return st;
}

int zoo_tls_read(struct zoo_tls *tls, char *buf, size_t len, size_t *got)
{
    int n = wolfSSL_read(tls->ssl, buf, (int)len);
    int st = status(tls, n);

    *got = st == ZOO_TLS_OK ? (size_t)n : 0;
    return st;
}

int zoo_tls_write(struct zoo_tls *tls, const char *buf, size_t len)
{
    return status(tls, wolfSSL_write(tls->ssl, buf, (int)len));
}

void zoo_tls_close(struct zoo_tls *tls)
{
    wolfSSL_shutdown(tls->ssl);
}

static void name_of(WOLFSSL_X509_NAME *name, char *buf, size_t len)
{
    buf[0] = '\0';
    if (name != NULL) {
        wolfSSL_X509_NAME_oneline(name, buf, (int)len);
    }
}

void zoo_tls_get_info(struct zoo_tls *tls, struct zoo_tls_info *out)
{
    WOLFSSL_ALERT_HISTORY h = {{0, 0}, {0, 0}};
    WOLFSSL_X509 *peer;
    char why[WOLFSSL_MAX_ERROR_SZ], *alpn = NULL;
    unsigned short alpn_len = 0;

    memset(out, 0, sizeof(*out));
    wolfSSL_get_alert_history(tls->ssl, &h);
    out->alert_received = h.last_rx.level == alert_fatal ? h.last_rx.code : -1;
    out->alert_sent = h.last_tx.level == alert_fatal ? h.last_tx.code : tls->own_alert;
    if (tls->last_error != 0) {
        snprintf(out->error, sizeof(out->error), "%s", wolf_error(tls->last_error, why));
    }
    if (!wolfSSL_is_init_finished(tls->ssl)) {
        return;
    }
    snprintf(out->version, sizeof(out->version), "%s", wolfSSL_get_version(tls->ssl));
    if (wolfSSL_ALPN_GetProtocol(tls->ssl, &alpn, &alpn_len) == WOLFSSL_SUCCESS && alpn_len > 0) {
        snprintf(out->alpn, sizeof(out->alpn), "%.*s", (int)alpn_len, alpn);
    }
    snprintf(out->cipher, sizeof(out->cipher), "%s",
             wolfSSL_CIPHER_get_name(wolfSSL_get_current_cipher(tls->ssl)));
    if ((peer = wolfSSL_get_peer_certificate(tls->ssl)) != NULL) {
        name_of(wolfSSL_X509_get_subject_name(peer), out->client_subject,
                sizeof(out->client_subject));
        name_of(wolfSSL_X509_get_issuer_name(peer), out->client_issuer, sizeof(out->client_issuer));
        wolfSSL_X509_free(peer);
    }
}
