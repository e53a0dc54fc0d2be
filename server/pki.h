/* The zoo's PKI, minted with wolfCrypt into one directory: a root CA and an
 * intermediate that persist (clients trust ca.pem once), an untrusted root,
 * a client CA with one client certificate, and a leaf per scenario that is
 * re-minted at every start with dates relative to now. Keys are cached. */
#ifndef ZOO_PKI_H
#define ZOO_PKI_H

#include <stddef.h>
#include <time.h>

#include "scenario.h"

/* File names inside the PKI directory. */
#define ZOO_PKI_CA "ca.pem"
#define ZOO_PKI_INTERMEDIATE "intermediate.pem"
#define ZOO_PKI_UNTRUSTED "untrusted-root.pem"
#define ZOO_PKI_CLIENT_CA "client-ca.pem"
#define ZOO_PKI_CLIENT_CERT "client.pem"
#define ZOO_PKI_CLIENT_KEY "client.key"

struct zoo_pki;

/* What a scenario's server presents: PEM chain (leaf first) and key, both
 * NUL-terminated text. */
struct zoo_leaf {
    char *chain_pem;
    size_t chain_len;
    char *key_pem;
    size_t key_len;
};

/* Opens DIR (created if missing), loading or minting every CA and the client
 * certificate. NULL on failure, with the reason in ERR. Free with _free. */
struct zoo_pki *zoo_pki_open(const char *dir, char *err, size_t len);
void zoo_pki_free(struct zoo_pki *pki);

/* Mints S's leaf valid relative to NOW into DIR/leaf/NAME.{pem,key,chain.pem}
 * (or reads the scenario's own files) and fills OUT, which the caller frees
 * with zoo_leaf_cleanup. Returns 0 or a ZOO_E* code with ERR. */
int zoo_pki_leaf(struct zoo_pki *pki, const struct zoo_scenario *s, time_t now,
                 struct zoo_leaf *out, char *err, size_t len);
void zoo_leaf_cleanup(struct zoo_leaf *leaf);

/* Writes DIR/NAME into BUF as an absolute path; for scenario files LEAF is
 * the scenario name and SUFFIX ".pem", ".key" or ".chain.pem". */
void zoo_pki_path(const char *dir, const char *name, char *buf, size_t len);
void zoo_pki_leaf_path(const char *dir, const char *leaf, const char *suffix, char *buf,
                       size_t len);

#endif
