/* The scenario schema. Each YAML mapping is a table of keys with a setter
 * each; unknown keys get a did-you-mean from the same table. Setters check
 * types and values and report at the offending node's line and column. */
#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "yamlwalk.h"
static const char *version_name(int i)
{
    return zoo_version_name((enum zoo_tls_version)(1 << i));
}
static const char *key_name(int i)
{
    return zoo_key_type_name((enum zoo_key_type)i);
}
static const char *issuer_name(int i)
{
    return zoo_issuer_name((enum zoo_issuer)i);
}
static const char *chain_name(int i)
{
    return zoo_chain_name((enum zoo_chain)i);
}
static const char *auth_name(int i)
{
    return zoo_client_auth_name((enum zoo_client_auth)i);
}
static const char *sig_name(int i)
{
    return zoo_signature_name((enum zoo_signature)i);
}
static const char *outcome_name(int i)
{
    return zoo_outcome_name((enum zoo_outcome)i);
}

static const char *bool_name(int i)
{
    return i ? "true" : "false";
}

static bool is_label(const char *v, bool dots)
{
    if (*v == '\0' || *v == '-' || strlen(v) > 63 * (dots ? 4 : 1)) {
        return false;
    }
    for (; *v; v++) {
        if (!(islower((unsigned char)*v) || isdigit((unsigned char)*v) || *v == '-' ||
              (dots && *v == '.'))) {
            return false;
        }
    }
    return true;
}

static void set_name(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    const char *v = zoo_yaml_scalar(l, n, "name");

    if (v != NULL && !is_label(v, false)) {
        zoo_yaml_report(l, n, "name '%s' may only contain a-z, 0-9 and '-'", v);
    } else if (v != NULL) {
        zoo_yaml_string(l, n, "name", &l->s->name);
    }
}

static void set_host(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    const char *v = zoo_yaml_scalar(l, n, "host");

    if (v != NULL && !is_label(v, true)) {
        zoo_yaml_report(l, n, "host '%s' is not a DNS name in lower case", v);
    } else if (v != NULL) {
        zoo_yaml_string(l, n, "host", &l->s->host);
    }
}

static void set_summary(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    zoo_yaml_string(l, n, "summary", &l->s->summary);
}

/* listen: PORT, "ADDR:PORT" or "[IPV6]:PORT". */
static void set_listen(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    const char *v = zoo_yaml_scalar(l, n, "listen");
    const char *colon, *digits;
    char *end;
    long port;

    if (v == NULL) {
        return;
    }
    l->s->listen_mark = zoo_yaml_mark(n);
    colon = strrchr(v, ':');
    digits = colon ? colon + 1 : v;
    port = strtol(digits, &end, 10);
    if (!isdigit((unsigned char)*digits) || *end != '\0' || port < 1 || port > 65535) {
        zoo_yaml_report(l, n, "bad listen '%s' (expected a port 1-65535 or \"address:port\")", v);
        return;
    }
    l->s->port = (int)port;
    if (colon != NULL) {
        size_t skip = v[0] == '[', len = (size_t)(colon - v) - skip;
        if (skip && (len == 0 || v[skip + len - 1] != ']')) {
            zoo_yaml_report(l, n, "bad listen '%s' (write IPv6 addresses as \"[::1]:PORT\")", v);
            return;
        }
        free(l->s->bind);
        l->s->bind = strndup(v + skip, len - skip);
    }
}

/* Calls ITEM for each entry of a list (a single value counts as a list of one). */
static void add_version(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "TLS version", version_name, 4);

    if (i >= 0) {
        l->s->versions |= 1u << i;
    }
}

static void set_versions(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    l->s->versions = 0;
    zoo_yaml_list(l, n, "tls.versions", add_version);
}

static void set_ciphers(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    l->s->ciphers_mark = zoo_yaml_mark(n);
    zoo_yaml_string(l, n, "tls.ciphers", &l->s->ciphers);
}

static const char *group_name(int i)
{
    static const char *const names[] = {"x25519",    "x448",      "secp256r1", "secp384r1",
                                        "secp521r1", "ffdhe2048", "ffdhe3072"};
    return names[i];
}

static void add_group(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "group", group_name, 7);
    char *joined;

    if (i < 0) {
        return;
    }
    if (asprintf(&joined, "%s%s%s", l->s->groups ? l->s->groups : "", l->s->groups ? ":" : "",
                 group_name(i)) >= 0) {
        free(l->s->groups);
        l->s->groups = joined;
    }
}

static void set_groups(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    free(l->s->groups);
    l->s->groups = NULL;
    l->s->groups_mark = zoo_yaml_mark(n);
    zoo_yaml_list(l, n, "tls.groups", add_group);
}

static void set_tls(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    static const struct zoo_yaml_key keys[] = {
        {"versions", set_versions}, {"ciphers", set_ciphers}, {"groups", set_groups}, {0}};
    zoo_yaml_map(l, n, "tls", keys);
}

static void set_key(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "key type", key_name, ZOO_KEY_RSA8192 + 1);

    if (i >= 0) {
        l->s->cert.key = (enum zoo_key_type)i;
    }
}

static void set_issuer(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "issuer", issuer_name, ZOO_ISSUER_UNTRUSTED + 1);

    if (i >= 0) {
        l->s->cert.issuer = (enum zoo_issuer)i;
    }
}

static void add_name(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    struct zoo_cert_spec *c = &l->s->cert;
    const char *v = zoo_yaml_scalar(l, n, "a certificate name");
    char **grown;

    if (v == NULL) {
        return;
    }
    if (*v == '\0' || strlen(v) > 253 || strpbrk(v, " \t/@") != NULL) {
        zoo_yaml_report(l, n, "certificate name '%s' is not a DNS name or IP address", v);
        return;
    }
    grown = realloc(c->names, (c->n_names + 1) * sizeof(*grown));
    if (grown != NULL) {
        c->names = grown;
        c->names[c->n_names++] = strdup(v);
    }
}

static void set_names(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    zoo_yaml_list(l, n, "certificate.names", add_name);
}

static void set_when(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what,
                     struct zoo_when *dst)
{
    const char *v = zoo_yaml_scalar(l, n, what);
    char why[160];

    if (v != NULL && zoo_when_parse(v, dst, why, sizeof(why)) != 0) {
        zoo_yaml_report(l, n, "%s: %s", what, why);
    }
}

static void set_not_before(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    set_when(l, n, "certificate.not_before", &l->s->cert.not_before);
}

static void set_not_after(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    set_when(l, n, "certificate.not_after", &l->s->cert.not_after);
}

static void set_signature(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "signature", sig_name, ZOO_SIG_SHA1 + 1);

    if (i >= 0) {
        l->s->cert.signature = (enum zoo_signature)i;
    }
}

/* A path relative to the scenario file's directory, which must be readable. */
static void set_path(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what, char **dst)
{
    const char *v = zoo_yaml_scalar(l, n, what);
    const char *slash = strrchr(l->d->file, '/');
    char *path;

    if (v == NULL) {
        return;
    }
    if (v[0] == '/' || slash == NULL) {
        path = strdup(v);
    } else if (asprintf(&path, "%.*s/%s", (int)(slash - l->d->file), l->d->file, v) < 0) {
        path = NULL;
    }
    if (path != NULL && access(path, R_OK) != 0) {
        zoo_yaml_report(l, n, "%s '%s' not found (paths are relative to the scenario file)", what,
                        v);
    }
    free(*dst);
    *dst = path;
}

static void set_file(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    set_path(l, n, "certificate.file", &l->s->cert.file);
}

static void set_key_file(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    set_path(l, n, "certificate.key_file", &l->s->cert.key_file);
}

static void set_certificate(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    static const struct zoo_yaml_key keys[] = {{"key", set_key},
                                               {"issuer", set_issuer},
                                               {"names", set_names},
                                               {"not_before", set_not_before},
                                               {"not_after", set_not_after},
                                               {"signature", set_signature},
                                               {"file", set_file},
                                               {"key_file", set_key_file},
                                               {0}};
    zoo_yaml_map(l, n, "certificate", keys);
}

static void set_chain(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "chain", chain_name, ZOO_CHAIN_LEAF + 1);

    if (i >= 0) {
        l->s->chain = (enum zoo_chain)i;
    }
}

static void set_require(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "value for sni.require", bool_name, 2);

    if (i >= 0) {
        l->s->sni_require = i == 1;
    }
}

static void set_sni(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    static const struct zoo_yaml_key keys[] = {{"require", set_require}, {0}};
    zoo_yaml_map(l, n, "sni", keys);
}

static void set_client_auth(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "client_auth", auth_name, ZOO_CLIENT_AUTH_REQUIRED + 1);

    if (i >= 0) {
        l->s->client_auth = (enum zoo_client_auth)i;
    }
}

static void set_outcome(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    int i = zoo_yaml_choose(l, n, "outcome", outcome_name, 2);

    if (i >= 0) {
        l->s->expect.outcome = (enum zoo_outcome)i;
    }
}

static void set_alert(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    const char *v = zoo_yaml_scalar(l, n, "expect.alert");

    if (v != NULL && zoo_alert_code(v) < 0) {
        zoo_yaml_report(l, n,
                        "unknown alert '%s' (use the RFC 8446 name, e.g. certificate_expired)", v);
    } else if (v != NULL) {
        zoo_yaml_string(l, n, "expect.alert", &l->s->expect.alert);
    }
}

static void set_errors(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) {
        zoo_yaml_report(l, n, "expect.errors must be a mapping of client: message");
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        int i = zoo_yaml_choose(l, k, "client in expect.errors",
                                (const char *(*)(int))zoo_client_name, ZOO_CLIENT_COUNT);
        if (i >= 0) {
            zoo_yaml_string(l, v, "an expected error", &l->s->expect.errors[i]);
        }
    }
}

static void set_expect(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    static const struct zoo_yaml_key keys[] = {
        {"outcome", set_outcome}, {"alert", set_alert}, {"errors", set_errors}, {0}};
    zoo_yaml_map(l, n, "expect", keys);
}

static const char *fixer_name(int i)
{
    return i ? "client" : "server";
}

static void set_fixed_by(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    if (zoo_yaml_choose(l, n, "explain.fixed_by", fixer_name, 2) >= 0) {
        zoo_yaml_string(l, n, "explain.fixed_by", &l->s->explain.fixed_by);
    }
}

#define TEXT_SETTER(fn, field)                                                                     \
    static void fn(struct zoo_yaml_walk *l, yaml_node_t *n)                                        \
    {                                                                                              \
        zoo_yaml_string(l, n, "explain." #field, &l->s->explain.field);                            \
    }
TEXT_SETTER(set_what, what)
TEXT_SETTER(set_diagnose, diagnose)
TEXT_SETTER(set_fix, fix)

static void set_explain(struct zoo_yaml_walk *l, yaml_node_t *n)
{
    static const struct zoo_yaml_key keys[] = {{"fixed_by", set_fixed_by},
                                               {"what", set_what},
                                               {"diagnose", set_diagnose},
                                               {"fix", set_fix},
                                               {0}};
    zoo_yaml_map(l, n, "explain", keys);
}

static const struct zoo_yaml_key top_keys[] = {
    {"name", set_name},     {"summary", set_summary}, {"host", set_host},
    {"listen", set_listen}, {"tls", set_tls},         {"certificate", set_certificate},
    {"chain", set_chain},   {"sni", set_sni},         {"client_auth", set_client_auth},
    {"expect", set_expect}, {"explain", set_explain}, {0}};

static char *file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    char *stem = strdup(base ? base + 1 : path);
    char *dot = stem ? strrchr(stem, '.') : NULL;

    if (dot != NULL && dot != stem) {
        *dot = '\0';
    }
    return stem;
}

/* Defaults that depend on other keys, and checks that span keys. */
static void finish(struct zoo_yaml_walk *l, yaml_node_t *root)
{
    struct zoo_scenario *s = l->s;

    if (s->name == NULL) {
        s->name = file_stem(l->d->file);
        if (s->name != NULL && !is_label(s->name, false)) {
            zoo_yaml_report(
                l, root, "file name '%s' is not a valid scenario name; add a 'name' key", s->name);
        }
    }
    if (s->host == NULL && s->name != NULL &&
        asprintf(&s->host, "%s.tlszoo.localhost", s->name) < 0) {
        s->host = NULL;
    }
    if ((s->cert.file == NULL) != (s->cert.key_file == NULL)) {
        zoo_yaml_report(l, root,
                        "certificate.file and certificate.key_file go together; give both");
    }
    if (s->cert.not_before.relative == s->cert.not_after.relative &&
        s->cert.not_before.value >= s->cert.not_after.value) {
        zoo_yaml_report(l, root,
                        "certificate.not_before must be earlier than certificate.not_after");
    }
}

void zoo_schema_apply(yaml_document_t *doc, yaml_node_t *root, struct zoo_scenario *s,
                      struct zoo_diag *d)
{
    struct zoo_yaml_walk l = {doc, s, d};

    zoo_yaml_map(&l, root, "the scenario", top_keys);
    finish(&l, root);
}
