/* The scenario schema. Each YAML mapping is a table of keys with a setter
 * each; unknown keys get a did-you-mean from the same table. Setters check
 * types and values and report at the offending node's line and column. */
#include "schema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"

void zoo_diag_report(struct zoo_diag *d, struct zoo_mark m, const char *fmt, ...)
{
    va_list ap;
    int n;

    d->count++;
    if (d->buf == NULL || d->len < 2 || d->used + 2 >= d->len) {
        return;
    }
    if (m.line > 0) {
        n = snprintf(d->buf + d->used, d->len - d->used, "%s:%d:%d: ", d->file, m.line,
                     m.column);
    } else {
        n = snprintf(d->buf + d->used, d->len - d->used, "%s: ", d->file);
    }
    if (n < 0 || d->used + (size_t)n + 2 >= d->len) {
        d->buf[d->used] = '\0';
        return;
    }
    d->used += (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(d->buf + d->used, d->len - d->used - 1, fmt, ap);
    va_end(ap);
    if (n > 0) {
        d->used += (size_t)n < d->len - d->used - 2 ? (size_t)n : d->len - d->used - 2;
    }
    d->buf[d->used++] = '\n';
    d->buf[d->used] = '\0';
}

struct loader {
    yaml_document_t *doc;
    struct zoo_scenario *s;
    struct zoo_diag *d;
};

struct key {
    const char *name;
    void (*set)(struct loader *l, yaml_node_t *value);
};

static struct zoo_mark mark_of(const yaml_node_t *n)
{
    return (struct zoo_mark){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

#define report(l, node, ...) zoo_diag_report((l)->d, mark_of(node), __VA_ARGS__)

static const char *scalar(struct loader *l, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        report(l, n, "%s must be a single value, not a %s", what,
               n->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static void set_string(struct loader *l, yaml_node_t *n, const char *what, char **dst)
{
    const char *v = scalar(l, n, what);

    if (v == NULL) {
        return;
    }
    free(*dst);
    *dst = strdup(v);
}

/* Index of TEXT in NAMES (a table of N), or -1 with an error naming them all. */
static int choose(struct loader *l, yaml_node_t *n, const char *what, const char *(*name)(int),
                  int count)
{
    const char *v = scalar(l, n, what);
    char options[256] = "";

    if (v == NULL) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        if (strcmp(v, name(i)) == 0) {
            return i;
        }
        strncat(options, i ? ", " : "", sizeof(options) - strlen(options) - 1);
        strncat(options, name(i), sizeof(options) - strlen(options) - 1);
    }
    report(l, n, "unknown %s '%s' (expected one of: %s)", what, v, options);
    return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (lb >= 64) {
        return lb;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void walk_map(struct loader *l, yaml_node_t *map, const char *what, const struct key *keys)
{
    if (map->type != YAML_MAPPING_NODE) {
        report(l, map, "%s must be a mapping of keys", what);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const struct key *best = NULL, *match = NULL;
        const char *name = scalar(l, k, "a key");

        if (name == NULL) {
            continue;
        }
        for (const struct key *e = keys; e->name != NULL; e++) {
            if (strcmp(e->name, name) == 0) {
                match = e;
            } else if (edit_distance(e->name, name) <= 2 &&
                       (best == NULL || edit_distance(e->name, name) <
                                            edit_distance(best->name, name))) {
                best = e;
            }
        }
        if (match != NULL) {
            match->set(l, v);
        } else if (best != NULL) {
            report(l, k, "unknown key '%s' in %s (did you mean '%s'?)", name, what, best->name);
        } else {
            report(l, k, "unknown key '%s' in %s", name, what);
        }
    }
}

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

static void set_name(struct loader *l, yaml_node_t *n)
{
    const char *v = scalar(l, n, "name");

    if (v != NULL && !is_label(v, false)) {
        report(l, n, "name '%s' may only contain a-z, 0-9 and '-'", v);
    } else if (v != NULL) {
        set_string(l, n, "name", &l->s->name);
    }
}

static void set_host(struct loader *l, yaml_node_t *n)
{
    const char *v = scalar(l, n, "host");

    if (v != NULL && !is_label(v, true)) {
        report(l, n, "host '%s' is not a DNS name in lower case", v);
    } else if (v != NULL) {
        set_string(l, n, "host", &l->s->host);
    }
}

static void set_summary(struct loader *l, yaml_node_t *n)
{
    set_string(l, n, "summary", &l->s->summary);
}

/* listen: PORT, "ADDR:PORT" or "[IPV6]:PORT". */
static void set_listen(struct loader *l, yaml_node_t *n)
{
    const char *v = scalar(l, n, "listen");
    const char *colon, *digits;
    char *end;
    long port;

    if (v == NULL) {
        return;
    }
    l->s->listen_mark = mark_of(n);
    colon = strrchr(v, ':');
    digits = colon ? colon + 1 : v;
    port = strtol(digits, &end, 10);
    if (!isdigit((unsigned char)*digits) || *end != '\0' || port < 1 || port > 65535) {
        report(l, n, "bad listen '%s' (expected a port 1-65535 or \"address:port\")", v);
        return;
    }
    l->s->port = (int)port;
    if (colon != NULL) {
        size_t skip = v[0] == '[', len = (size_t)(colon - v) - skip;
        if (skip && (len == 0 || v[skip + len - 1] != ']')) {
            report(l, n, "bad listen '%s' (write IPv6 addresses as \"[::1]:PORT\")", v);
            return;
        }
        free(l->s->bind);
        l->s->bind = strndup(v + skip, len - skip);
    }
}

/* Calls ITEM for each entry of a list (a single value counts as a list of one). */
static void each_item(struct loader *l, yaml_node_t *n, const char *what,
                      void (*item)(struct loader *l, yaml_node_t *v))
{
    if (n->type == YAML_SCALAR_NODE) {
        item(l, n);
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        report(l, n, "%s must be a list", what);
        return;
    }
    if (n->data.sequence.items.start == n->data.sequence.items.top) {
        report(l, n, "%s must not be empty", what);
    }
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        item(l, yaml_document_get_node(l->doc, *i));
    }
}

static void add_version(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "TLS version", version_name, 4);

    if (i >= 0) {
        l->s->versions |= 1u << i;
    }
}

static void set_versions(struct loader *l, yaml_node_t *n)
{
    l->s->versions = 0;
    each_item(l, n, "tls.versions", add_version);
}

static void set_ciphers(struct loader *l, yaml_node_t *n)
{
    l->s->ciphers_mark = mark_of(n);
    set_string(l, n, "tls.ciphers", &l->s->ciphers);
}

static const char *group_name(int i)
{
    static const char *const names[] = {"x25519", "x448", "secp256r1", "secp384r1",
                                        "secp521r1", "ffdhe2048", "ffdhe3072"};
    return names[i];
}

static void add_group(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "group", group_name, 7);
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

static void set_groups(struct loader *l, yaml_node_t *n)
{
    free(l->s->groups);
    l->s->groups = NULL;
    l->s->groups_mark = mark_of(n);
    each_item(l, n, "tls.groups", add_group);
}

static void set_tls(struct loader *l, yaml_node_t *n)
{
    static const struct key keys[] = {
        {"versions", set_versions}, {"ciphers", set_ciphers}, {"groups", set_groups}, {0}};
    walk_map(l, n, "tls", keys);
}

static void set_key(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "key type", key_name, ZOO_KEY_RSA8192 + 1);

    if (i >= 0) {
        l->s->cert.key = (enum zoo_key_type)i;
    }
}

static void set_issuer(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "issuer", issuer_name, ZOO_ISSUER_UNTRUSTED + 1);

    if (i >= 0) {
        l->s->cert.issuer = (enum zoo_issuer)i;
    }
}

static void add_name(struct loader *l, yaml_node_t *n)
{
    struct zoo_cert_spec *c = &l->s->cert;
    const char *v = scalar(l, n, "a certificate name");
    char **grown;

    if (v == NULL) {
        return;
    }
    if (*v == '\0' || strlen(v) > 253 || strpbrk(v, " \t/@") != NULL) {
        report(l, n, "certificate name '%s' is not a DNS name or IP address", v);
        return;
    }
    grown = realloc(c->names, (c->n_names + 1) * sizeof(*grown));
    if (grown != NULL) {
        c->names = grown;
        c->names[c->n_names++] = strdup(v);
    }
}

static void set_names(struct loader *l, yaml_node_t *n)
{
    each_item(l, n, "certificate.names", add_name);
}

static void set_when(struct loader *l, yaml_node_t *n, const char *what, struct zoo_when *dst)
{
    const char *v = scalar(l, n, what);
    char why[160];

    if (v != NULL && zoo_when_parse(v, dst, why, sizeof(why)) != 0) {
        report(l, n, "%s: %s", what, why);
    }
}

static void set_not_before(struct loader *l, yaml_node_t *n)
{
    set_when(l, n, "certificate.not_before", &l->s->cert.not_before);
}

static void set_not_after(struct loader *l, yaml_node_t *n)
{
    set_when(l, n, "certificate.not_after", &l->s->cert.not_after);
}

static void set_signature(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "signature", sig_name, ZOO_SIG_SHA1 + 1);

    if (i >= 0) {
        l->s->cert.signature = (enum zoo_signature)i;
    }
}

/* A path relative to the scenario file's directory, which must be readable. */
static void set_path(struct loader *l, yaml_node_t *n, const char *what, char **dst)
{
    const char *v = scalar(l, n, what);
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
        report(l, n, "%s '%s' not found (paths are relative to the scenario file)", what, v);
    }
    free(*dst);
    *dst = path;
}

static void set_file(struct loader *l, yaml_node_t *n)
{
    set_path(l, n, "certificate.file", &l->s->cert.file);
}

static void set_key_file(struct loader *l, yaml_node_t *n)
{
    set_path(l, n, "certificate.key_file", &l->s->cert.key_file);
}

static void set_certificate(struct loader *l, yaml_node_t *n)
{
    static const struct key keys[] = {{"key", set_key},
                                      {"issuer", set_issuer},
                                      {"names", set_names},
                                      {"not_before", set_not_before},
                                      {"not_after", set_not_after},
                                      {"signature", set_signature},
                                      {"file", set_file},
                                      {"key_file", set_key_file},
                                      {0}};
    walk_map(l, n, "certificate", keys);
}

static void set_chain(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "chain", chain_name, ZOO_CHAIN_LEAF + 1);

    if (i >= 0) {
        l->s->chain = (enum zoo_chain)i;
    }
}

static void set_require(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "value for sni.require", bool_name, 2);

    if (i >= 0) {
        l->s->sni_require = i == 1;
    }
}

static void set_sni(struct loader *l, yaml_node_t *n)
{
    static const struct key keys[] = {{"require", set_require}, {0}};
    walk_map(l, n, "sni", keys);
}

static void set_client_auth(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "client_auth", auth_name, ZOO_CLIENT_AUTH_REQUIRED + 1);

    if (i >= 0) {
        l->s->client_auth = (enum zoo_client_auth)i;
    }
}

static void set_outcome(struct loader *l, yaml_node_t *n)
{
    int i = choose(l, n, "outcome", outcome_name, 2);

    if (i >= 0) {
        l->s->expect.outcome = (enum zoo_outcome)i;
    }
}

static void set_alert(struct loader *l, yaml_node_t *n)
{
    const char *v = scalar(l, n, "expect.alert");

    if (v != NULL && zoo_alert_code(v) < 0) {
        report(l, n, "unknown alert '%s' (use the RFC 8446 name, e.g. certificate_expired)", v);
    } else if (v != NULL) {
        set_string(l, n, "expect.alert", &l->s->expect.alert);
    }
}

static void set_errors(struct loader *l, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) {
        report(l, n, "expect.errors must be a mapping of client: message");
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        int i = choose(l, k, "client in expect.errors",
                       (const char *(*)(int))zoo_client_name, ZOO_CLIENT_COUNT);
        if (i >= 0) {
            set_string(l, v, "an expected error", &l->s->expect.errors[i]);
        }
    }
}

static void set_expect(struct loader *l, yaml_node_t *n)
{
    static const struct key keys[] = {
        {"outcome", set_outcome}, {"alert", set_alert}, {"errors", set_errors}, {0}};
    walk_map(l, n, "expect", keys);
}

static const char *fixer_name(int i)
{
    return i ? "client" : "server";
}

static void set_fixed_by(struct loader *l, yaml_node_t *n)
{
    if (choose(l, n, "explain.fixed_by", fixer_name, 2) >= 0) {
        set_string(l, n, "explain.fixed_by", &l->s->explain.fixed_by);
    }
}

#define TEXT_SETTER(fn, field)                                 \
    static void fn(struct loader *l, yaml_node_t *n)           \
    {                                                          \
        set_string(l, n, "explain." #field, &l->s->explain.field); \
    }
TEXT_SETTER(set_what, what)
TEXT_SETTER(set_diagnose, diagnose)
TEXT_SETTER(set_fix, fix)

static void set_explain(struct loader *l, yaml_node_t *n)
{
    static const struct key keys[] = {{"fixed_by", set_fixed_by},
                                      {"what", set_what},
                                      {"diagnose", set_diagnose},
                                      {"fix", set_fix},
                                      {0}};
    walk_map(l, n, "explain", keys);
}

static const struct key top_keys[] = {
    {"name", set_name},       {"summary", set_summary},         {"host", set_host},
    {"listen", set_listen},   {"tls", set_tls},                 {"certificate", set_certificate},
    {"chain", set_chain},     {"sni", set_sni},                 {"client_auth", set_client_auth},
    {"expect", set_expect},   {"explain", set_explain},         {0}};

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
static void finish(struct loader *l, yaml_node_t *root)
{
    struct zoo_scenario *s = l->s;

    if (s->name == NULL) {
        s->name = file_stem(l->d->file);
        if (s->name != NULL && !is_label(s->name, false)) {
            report(l, root, "file name '%s' is not a valid scenario name; add a 'name' key",
                   s->name);
        }
    }
    if (s->host == NULL && s->name != NULL && asprintf(&s->host, "%s.tlszoo.localhost", s->name) < 0) {
        s->host = NULL;
    }
    if ((s->cert.file == NULL) != (s->cert.key_file == NULL)) {
        report(l, root, "certificate.file and certificate.key_file go together; give both");
    }
    if (s->cert.not_before.relative == s->cert.not_after.relative &&
        s->cert.not_before.value >= s->cert.not_after.value) {
        report(l, root, "certificate.not_before must be earlier than certificate.not_after");
    }
}

void zoo_schema_apply(yaml_document_t *doc, yaml_node_t *root, struct zoo_scenario *s,
                      struct zoo_diag *d)
{
    struct loader l = {doc, s, d};

    walk_map(&l, root, "the scenario", top_keys);
    finish(&l, root);
}
