/* Printing the catalog: a table for people, JSON for programs (jansson, so
 * every string is escaped), and the long explanation of one scenario. */
#include "catalog.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "pki.h"
#include "tls.h"

/* Ports first (0, "any", last), then names: the order people read. */
static int by_port(const void *a, const void *b)
{
    const struct zoo_scenario *x = a, *y = b;
    unsigned px = (unsigned)x->port - 1, py = (unsigned)y->port - 1; /* 0 wraps to the end */

    if (px != py) {
        return px < py ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

int zoo_catalog_load(const char *path, int port_offset, struct zoo_catalog *out, char *err,
                     size_t len)
{
    int ret = zoo_config_load(path, out, err, len);

    for (size_t i = 0; ret == 0 && i < out->count; i++) {
        struct zoo_scenario *s = &out->items[i];
        ret = zoo_tls_check(s, err, len);
        if (ret == 0 && s->port != 0 &&
            (s->port + port_offset < 1 || s->port + port_offset > 65535)) {
            snprintf(err, len, "%s:%d:%d: port %d moved by --port-offset %d is out of range\n",
                     s->file, s->listen_mark.line, s->listen_mark.column, s->port, port_offset);
            ret = ZOO_EINVAL;
        }
        if (s->port != 0) {
            s->port += port_offset;
        }
    }
    if (ret != 0) {
        zoo_catalog_cleanup(out);
        return ret;
    }
    qsort(out->items, out->count, sizeof(*out->items), by_port);
    return 0;
}

const char *zoo_catalog_bind(const struct zoo_scenario *s, const char *bind)
{
    return s->bind ? s->bind : bind;
}

static void url(const struct zoo_scenario *s, char *buf, size_t len)
{
    snprintf(buf, len, "https://%s:%d/", s->host, s->port);
}

static const char *should(const struct zoo_scenario *s)
{
    return s->expect.outcome == ZOO_OUTCOME_REJECT ? "reject" : "accept";
}

void zoo_catalog_print_table(const struct zoo_catalog *c, const char *bind, FILE *out)
{
    char u[300];

    (void)bind;
    fprintf(out, "%-22s %-52s %-7s %s\n", "SCENARIO", "URL", "CLIENT", "WHAT IS WRONG");
    for (size_t i = 0; i < c->count; i++) {
        const struct zoo_scenario *s = &c->items[i];
        url(s, u, sizeof(u));
        fprintf(out, "%-22s %-52s %-7s %s\n", s->name, u, should(s), s->summary ? s->summary : "");
    }
}

static json_t *string_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

static json_t *tls_json(const struct zoo_scenario *s)
{
    json_t *versions = json_array();
    char ciphers[4096];

    for (unsigned bit = ZOO_TLS10; bit <= ZOO_TLS13; bit <<= 1) {
        if (s->versions & bit) {
            json_array_append_new(versions, json_string(zoo_version_name(bit)));
        }
    }
    return json_pack("{s:o, s:o, s:o}", "versions", versions, "ciphers",
                     zoo_tls_effective_ciphers(s, ciphers, sizeof(ciphers)) == 0
                         ? json_string(ciphers)
                         : json_null(),
                     "groups", string_or_null(s->groups));
}

static json_t *cert_json(const struct zoo_scenario *s, const char *certs)
{
    char cert[PATH_MAX], key[PATH_MAX];

    zoo_pki_leaf_path(certs, s->name, ".pem", cert, sizeof(cert));
    zoo_pki_leaf_path(certs, s->name, ".key", key, sizeof(key));
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "key", zoo_key_type_name(s->cert.key),
                     "issuer", zoo_issuer_name(s->cert.issuer), "chain", zoo_chain_name(s->chain),
                     "signature", zoo_signature_name(s->cert.signature), "cert_file",
                     s->cert.file ? s->cert.file : cert, "key_file",
                     s->cert.key_file ? s->cert.key_file : key);
}

static json_t *scenario_json(const struct zoo_scenario *s, const char *bind, const char *certs)
{
    json_t *errors = json_object(), *o;
    char listen[300], u[300], chain[PATH_MAX];

    for (int i = 0; i < ZOO_CLIENT_COUNT; i++) {
        if (s->expect.errors[i] != NULL) {
            json_object_set_new(errors, zoo_client_name(i), json_string(s->expect.errors[i]));
        }
    }
    snprintf(listen, sizeof(listen), strchr(zoo_catalog_bind(s, bind), ':') ? "[%s]:%d" : "%s:%d",
             zoo_catalog_bind(s, bind), s->port);
    url(s, u, sizeof(u));
    zoo_pki_leaf_path(certs, s->name, ".chain.pem", chain, sizeof(chain));
    o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:{s:b}, s:s, s:o, s:s}", "name", s->name,
                  "host", s->host, "port", s->port, "listen", listen, "url", u, "summary",
                  string_or_null(s->summary), "tls", tls_json(s), "sni", "require", s->sni_require,
                  "client_auth", zoo_client_auth_name(s->client_auth), "certificate",
                  cert_json(s, certs), "chain_file", s->cert.file ? s->cert.file : chain);
    json_object_set_new(o, "expect",
                        json_pack("{s:s, s:o, s:o}", "outcome", should(s), "alert",
                                  string_or_null(s->expect.alert), "errors", errors));
    json_object_set_new(
        o, "explain",
        json_pack("{s:o, s:o, s:o, s:o}", "fixed_by", string_or_null(s->explain.fixed_by), "what",
                  string_or_null(s->explain.what), "diagnose", string_or_null(s->explain.diagnose),
                  "fix", string_or_null(s->explain.fix)));
    return o;
}

json_t *zoo_catalog_json(const struct zoo_catalog *c, const char *bind, const char *certs)
{
    char ca[PATH_MAX], inter[PATH_MAX], untrusted[PATH_MAX], client[PATH_MAX], key[PATH_MAX];
    json_t *list = json_array();

    for (size_t i = 0; i < c->count; i++) {
        json_array_append_new(list, scenario_json(&c->items[i], bind, certs));
    }
    zoo_pki_path(certs, ZOO_PKI_CA, ca, sizeof(ca));
    zoo_pki_path(certs, ZOO_PKI_INTERMEDIATE, inter, sizeof(inter));
    zoo_pki_path(certs, ZOO_PKI_UNTRUSTED, untrusted, sizeof(untrusted));
    zoo_pki_path(certs, ZOO_PKI_CLIENT_CERT, client, sizeof(client));
    zoo_pki_path(certs, ZOO_PKI_CLIENT_KEY, key, sizeof(key));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "ca_file", ca, "intermediate_file", inter,
                     "untrusted_root_file", untrusted, "client_cert_file", client,
                     "client_key_file", key, "scenarios", list);
}

int zoo_catalog_print_json(const struct zoo_catalog *c, const char *bind, const char *certs,
                           FILE *out)
{
    json_t *root = zoo_catalog_json(c, bind, certs);
    int ret;

    if (root == NULL) {
        return ZOO_ENOMEM;
    }
    ret = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(root);
    return ret == 0 ? 0 : ZOO_EIO;
}

static void paragraph(FILE *out, const char *title, const char *text)
{
    size_t n;

    if (text == NULL) {
        return;
    }
    n = strlen(text);
    fprintf(out, "\n%s\n  ", title);
    for (const char *p = text; *p; p++) {
        fputc(*p, out);
        if (*p == '\n' && p + 1 < text + n) {
            fputs("  ", out);
        }
    }
    if (n == 0 || text[n - 1] != '\n') {
        fputc('\n', out);
    }
}

void zoo_catalog_explain(const struct zoo_scenario *s, const char *bind, FILE *out)
{
    char u[300];

    url(s, u, sizeof(u));
    fprintf(out, "%s: %s\n", s->name, s->summary ? s->summary : "");
    fprintf(out, "  url:       %s (listening on %s:%d)\n", u, zoo_catalog_bind(s, bind), s->port);
    fprintf(out, "  a correct client should %s it", should(s));
    if (s->expect.alert != NULL) {
        fprintf(out, " (alert: %s)", s->expect.alert);
    }
    fprintf(out, "\n  fixed by:  %s\n", s->explain.fixed_by ? s->explain.fixed_by : "-");
    paragraph(out, "What is wrong", s->explain.what);
    paragraph(out, "How to diagnose", s->explain.diagnose);
    paragraph(out, "How to fix", s->explain.fix);
    fprintf(out, "\nWhat clients print\n");
    for (int i = 0; i < ZOO_CLIENT_COUNT; i++) {
        if (s->expect.errors[i] != NULL) {
            fprintf(out, "  %-8s %s\n", zoo_client_name(i), s->expect.errors[i]);
        }
    }
}
