/* Private keys for certificates: one struct for RSA, ECDSA and Ed25519. */
#ifndef ZOO_KEY_H
#define ZOO_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include "scenario.h"

struct zoo_key {
    enum zoo_key_type type;
    int wc_type; /* RSA_TYPE, ECC_TYPE or ED25519_TYPE */
    union {
        RsaKey rsa;
        ecc_key ecc;
        ed25519_key ed;
    } k;
};

/* Loads the key cached at PATH if it is of TYPE, else generates one and
 * caches it (0600). Sets *FRESH when new. 0, a wolfCrypt code or ZOO_EIO;
 * the caller frees K with zoo_key_free either way. */
int zoo_key_load_or_make(const char *path, enum zoo_key_type type, WC_RNG *rng, struct zoo_key *k,
                         bool *fresh);

/* The private key as PEM into OUT; its length or a negative wolfCrypt code. */
int zoo_key_to_pem(struct zoo_key *k, unsigned char *out, size_t cap);

void zoo_key_free(struct zoo_key *k);

/* Text for a code from zoo_key_load_or_make. */
const char *zoo_key_error(int ret);

#endif
