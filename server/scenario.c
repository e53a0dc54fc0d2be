/* Defaults, names and cleanup of the scenario data. The name tables here are
 * the single source for both parsing (config) and printing (catalog). */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

void zoo_scenario_init(struct zoo_scenario *s)
{
    memset(s, 0, sizeof(*s));
    s->versions = ZOO_TLS12 | ZOO_TLS13;
    s->cert.key = ZOO_KEY_ECDSA_P256;
    s->cert.issuer = ZOO_ISSUER_INTERMEDIATE;
    s->cert.not_before = (struct zoo_when){.relative = true, .value = -3600};
    s->cert.not_after = (struct zoo_when){.relative = true, .value = 90 * 86400};
    s->cert.signature = ZOO_SIG_SHA256;
    s->chain = ZOO_CHAIN_FULL;
    s->client_auth = ZOO_CLIENT_AUTH_NONE;
    s->expect.outcome = ZOO_OUTCOME_ACCEPT;
}

void zoo_scenario_cleanup(struct zoo_scenario *s)
{
    char **strings[] = {&s->file,
                        &s->name,
                        &s->summary,
                        &s->host,
                        &s->bind,
                        &s->ciphers,
                        &s->groups,
                        &s->cert.file,
                        &s->cert.key_file,
                        &s->expect.alert,
                        &s->explain.fixed_by,
                        &s->explain.what,
                        &s->explain.diagnose,
                        &s->explain.fix};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        free(*strings[i]);
    }
    for (size_t i = 0; i < ZOO_CLIENT_COUNT; i++) {
        free(s->expect.errors[i]);
    }
    for (size_t i = 0; i < s->cert.n_names; i++) {
        free(s->cert.names[i]);
    }
    free(s->cert.names);
    memset(s, 0, sizeof(*s));
}

void zoo_catalog_cleanup(struct zoo_catalog *c)
{
    for (size_t i = 0; i < c->count; i++) {
        zoo_scenario_cleanup(&c->items[i]);
    }
    free(c->items);
    c->items = NULL;
    c->count = 0;
}

const struct zoo_scenario *zoo_catalog_find(const struct zoo_catalog *c, const char *name)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->items[i].name, name) == 0) {
            return &c->items[i];
        }
    }
    return NULL;
}

const char *zoo_version_name(enum zoo_tls_version v)
{
    switch (v) {
    case ZOO_TLS10:
        return "tls1.0";
    case ZOO_TLS11:
        return "tls1.1";
    case ZOO_TLS12:
        return "tls1.2";
    case ZOO_TLS13:
        return "tls1.3";
    }
    return "?";
}

#define NAME_TABLE(fn, type, ...)                                                                  \
    const char *fn(type value)                                                                     \
    {                                                                                              \
        static const char *const names[] = {__VA_ARGS__};                                          \
        size_t n = sizeof(names) / sizeof(names[0]);                                               \
        return (size_t)value < n ? names[value] : "?";                                             \
    }

NAME_TABLE(zoo_key_type_name, enum zoo_key_type, "ecdsa-p256", "ecdsa-p384", "ed25519", "rsa1024",
           "rsa2048", "rsa3072", "rsa4096", "rsa8192")
NAME_TABLE(zoo_issuer_name, enum zoo_issuer, "intermediate", "root", "self", "untrusted-root")
NAME_TABLE(zoo_chain_name, enum zoo_chain, "full", "leaf")
NAME_TABLE(zoo_client_auth_name, enum zoo_client_auth, "none", "optional", "required")
NAME_TABLE(zoo_signature_name, enum zoo_signature, "sha256", "sha384", "sha512", "sha1")
NAME_TABLE(zoo_outcome_name, enum zoo_outcome, "accept", "reject")
NAME_TABLE(zoo_client_name, enum zoo_client, "openssl", "curl", "gnutls", "python", "chrome",
           "firefox")
