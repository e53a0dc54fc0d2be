/* Failure classification. Order matters: a client alert explains the close
 * that follows it; our own alert explains the client's close; only then is
 * a bare close or reset the whole story. */
#include "outcome.h"

#include <stdio.h>
#include <string.h>

#include "alert.h"

#define ALERT_PROTOCOL_VERSION 70
#define ALERT_UNRECOGNIZED_NAME 112
#define ALERT_CERTIFICATE_REQUIRED 116

static const char *version_name(uint16_t v)
{
    switch (v) {
    case 0x0300:
        return "ssl3";
    case 0x0301:
        return "tls1.0";
    case 0x0302:
        return "tls1.1";
    case 0x0303:
        return "tls1.2";
    case 0x0304:
        return "tls1.3";
    }
    return NULL;
}

/* "tls1.3, tls1.2" style list of what H offers, into BUF. */
static void offered_versions(const struct zoo_hello *h, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < h->n_versions; i++) {
        const char *name = version_name(h->versions[i]);
        if (name != NULL && used < len) {
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
        }
    }
    if (h->n_versions == 0 || buf[0] == '\0') {
        /* No supported_versions: the legacy field is the highest version (RFC 5246 §7.4.1.2). */
        const char *name = version_name(h->legacy_version);
        snprintf(buf, len, "up to %s", name ? name : "an unknown version");
    }
}

static void allowed_versions(unsigned mask, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned bit = ZOO_TLS10; bit <= ZOO_TLS13 && used < len; bit <<= 1) {
        if (mask & bit) {
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                                     zoo_version_name(bit));
        }
    }
}

/* Why we refused the client, in terms of what it offered. */
static void refusal(const struct zoo_failure *f, int alert, char *buf, size_t len)
{
    const struct zoo_scenario *s = f->scenario;
    char offered[128], allowed[64];

    if (alert == ALERT_UNRECOGNIZED_NAME && s->sni_require) {
        if (f->hello == NULL || !f->hello->has_sni) {
            snprintf(buf, len, "client sent no server_name (SNI); this endpoint requires %s",
                     s->host);
        } else {
            snprintf(buf, len, "client asked for '%s'; this endpoint only answers %s",
                     f->hello->sni, s->host);
        }
    } else if (alert == ALERT_PROTOCOL_VERSION && f->hello != NULL) {
        offered_versions(f->hello, offered, sizeof(offered));
        allowed_versions(s->versions, allowed, sizeof(allowed));
        snprintf(buf, len, "client offered %s; this endpoint speaks only %s", offered, allowed);
    } else if (strstr(f->tls->error, "cipher") != NULL && f->hello != NULL) {
        snprintf(buf, len, "no common cipher suite: client offered %zu suites, none of %s",
                 f->hello->n_suites, s->ciphers ? s->ciphers : "the secure defaults");
    } else if (alert == ALERT_CERTIFICATE_REQUIRED ||
               strstr(f->tls->error, "peer did not return a certificate") != NULL) {
        snprintf(buf, len,
                 "client presented no certificate; this endpoint requires one from "
                 "the zoo's client CA");
    } else if (s->client_auth != ZOO_CLIENT_AUTH_NONE && f->server_spoke) {
        snprintf(buf, len, "client certificate refused: %s", f->tls->error);
    } else {
        snprintf(buf, len, "%s", f->tls->error[0] ? f->tls->error : "handshake failed");
    }
}

void zoo_outcome_failure(const struct zoo_failure *f, struct zoo_report *r)
{
    int received = f->plaintext_alert >= 0 ? f->plaintext_alert : f->tls->alert_received;

    r->stage = f->server_spoke ? ZOO_STAGE_HANDSHAKE : ZOO_STAGE_HELLO;
    r->detail[0] = '\0';
    if (received >= 0 && received != 0) { /* close_notify is no refusal */
        r->result = ZOO_RESULT_CLIENT_ALERT;
        r->alert_code = received;
    } else if (f->tls->alert_sent >= 0) {
        r->result = ZOO_RESULT_SERVER_ALERT;
        r->alert_code = f->tls->alert_sent;
        refusal(f, f->tls->alert_sent, r->detail, sizeof(r->detail));
    } else if (f->reset) {
        r->result = ZOO_RESULT_RESET;
    } else if (f->eof || received == 0) {
        r->result = ZOO_RESULT_CLOSED;
    } else {
        /* The engine gave up without an alert either way: broken TLS. */
        r->result = ZOO_RESULT_MALFORMED;
        snprintf(r->detail, sizeof(r->detail), "broken TLS from the client: %s", f->tls->error);
    }
}
