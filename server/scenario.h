/* A scenario as plain data: one endpoint with exactly one defect. Filled by
 * the config module from YAML with defaults; read by every other module. */
#ifndef ZOO_SCENARIO_H
#define ZOO_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "reltime.h"

enum zoo_tls_version {
    ZOO_TLS10 = 1 << 0,
    ZOO_TLS11 = 1 << 1,
    ZOO_TLS12 = 1 << 2,
    ZOO_TLS13 = 1 << 3,
};

enum zoo_key_type {
    ZOO_KEY_ECDSA_P256,
    ZOO_KEY_ECDSA_P384,
    ZOO_KEY_ED25519,
    ZOO_KEY_RSA1024,
    ZOO_KEY_RSA2048,
    ZOO_KEY_RSA3072,
    ZOO_KEY_RSA4096,
    ZOO_KEY_RSA8192,
};

enum zoo_issuer { ZOO_ISSUER_INTERMEDIATE, ZOO_ISSUER_ROOT, ZOO_ISSUER_SELF, ZOO_ISSUER_UNTRUSTED };
enum zoo_chain { ZOO_CHAIN_FULL, ZOO_CHAIN_LEAF };
enum zoo_client_auth { ZOO_CLIENT_AUTH_NONE, ZOO_CLIENT_AUTH_OPTIONAL, ZOO_CLIENT_AUTH_REQUIRED };
enum zoo_signature { ZOO_SIG_SHA256, ZOO_SIG_SHA384, ZOO_SIG_SHA512, ZOO_SIG_SHA1 };
enum zoo_outcome { ZOO_OUTCOME_ACCEPT, ZOO_OUTCOME_REJECT };

/* The clients whose messages a scenario documents, in catalog order. */
enum zoo_client {
    ZOO_CLIENT_OPENSSL,
    ZOO_CLIENT_CURL,
    ZOO_CLIENT_GNUTLS,
    ZOO_CLIENT_PYTHON,
    ZOO_CLIENT_CHROME,
    ZOO_CLIENT_FIREFOX,
    ZOO_CLIENT_COUNT
};

/* A position in a scenario file, 1-based, for error messages. */
struct zoo_mark {
    int line;
    int column;
};

struct zoo_cert_spec {
    enum zoo_key_type key;
    enum zoo_issuer issuer;
    char **names; /* subjectAltName entries; NULL means the defaults */
    size_t n_names;
    struct zoo_when not_before;
    struct zoo_when not_after;
    enum zoo_signature signature;
    char *file; /* bring your own certificate (PEM) and key */
    char *key_file;
};

struct zoo_scenario {
    char *file; /* the YAML file it came from */
    char *name;
    char *summary;
    char *host;
    char *bind; /* NULL: the server's bind address */
    int port;
    struct zoo_mark listen_mark;
    unsigned versions; /* enum zoo_tls_version bits */
    char *ciphers;     /* OpenSSL-style list; NULL: library default */
    struct zoo_mark ciphers_mark;
    char *groups; /* colon-separated; NULL: library default */
    struct zoo_mark groups_mark;
    struct zoo_cert_spec cert;
    enum zoo_chain chain;
    bool sni_require;
    enum zoo_client_auth client_auth;
    struct {
        enum zoo_outcome outcome;
        char *alert;
        char *errors[ZOO_CLIENT_COUNT];
    } expect;
    struct {
        char *fixed_by;
        char *what;
        char *diagnose;
        char *fix;
    } explain;
};

struct zoo_catalog {
    struct zoo_scenario *items;
    size_t count;
};

/* Fills S with the defaults of every key; owns nothing yet. */
void zoo_scenario_init(struct zoo_scenario *s);
/* Frees what S owns; S may then be reused after zoo_scenario_init. */
void zoo_scenario_cleanup(struct zoo_scenario *s);
void zoo_catalog_cleanup(struct zoo_catalog *c);

/* Names for enum values, as written in scenario files. */
const char *zoo_version_name(enum zoo_tls_version v);
const char *zoo_key_type_name(enum zoo_key_type k);
const char *zoo_issuer_name(enum zoo_issuer i);
const char *zoo_chain_name(enum zoo_chain c);
const char *zoo_client_auth_name(enum zoo_client_auth a);
const char *zoo_signature_name(enum zoo_signature s);
const char *zoo_outcome_name(enum zoo_outcome o);
const char *zoo_client_name(enum zoo_client c);

/* Finds a scenario by name; NULL if absent. */
const struct zoo_scenario *zoo_catalog_find(const struct zoo_catalog *c, const char *name);

#endif
