/* Private keys of every type the zoo mints: generated with wolfCrypt,
 * cached as PEM (0600) and loaded back, regenerated when the cached key is
 * of another type or size than asked for. */
#include "key.h"

#include <errno.h>
#include <string.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "error.h"
#include "file.h"

#define DER_MAX 8192
#define PEM_MAX 12288

static int key_bits(enum zoo_key_type t)
{
    static const int bits[] = {256, 384, 255, 1024, 2048, 3072, 4096, 8192};
    return bits[t];
}

void zoo_key_free(struct zoo_key *k)
{
    if (k->wc_type == RSA_TYPE) {
        wc_FreeRsaKey(&k->k.rsa);
    } else if (k->wc_type == ECC_TYPE) {
        wc_ecc_free(&k->k.ecc);
    } else if (k->wc_type == ED25519_TYPE) {
        wc_ed25519_free(&k->k.ed);
    }
    k->wc_type = 0;
}

static int key_init(struct zoo_key *k, enum zoo_key_type type)
{
    k->type = type;
    if (type == ZOO_KEY_ECDSA_P256 || type == ZOO_KEY_ECDSA_P384) {
        k->wc_type = ECC_TYPE;
        return wc_ecc_init(&k->k.ecc);
    }
    if (type == ZOO_KEY_ED25519) {
        k->wc_type = ED25519_TYPE;
        return wc_ed25519_init(&k->k.ed);
    }
    k->wc_type = RSA_TYPE;
    return wc_InitRsaKey(&k->k.rsa, NULL);
}

static int key_generate(struct zoo_key *k, WC_RNG *rng)
{
    switch (k->type) {
    case ZOO_KEY_ECDSA_P256:
        return wc_ecc_make_key_ex(rng, 32, &k->k.ecc, ECC_SECP256R1);
    case ZOO_KEY_ECDSA_P384:
        return wc_ecc_make_key_ex(rng, 48, &k->k.ecc, ECC_SECP384R1);
    case ZOO_KEY_ED25519:
        return wc_ed25519_make_key(rng, ED25519_KEY_SIZE, &k->k.ed);
    default:
        return wc_MakeRsaKey(&k->k.rsa, key_bits(k->type), WC_RSA_EXPONENT, rng);
    }
}

/* Private key as PEM into OUT; returns its length or a negative wolfCrypt code. */
int zoo_key_to_pem(struct zoo_key *k, byte *out, size_t cap)
{
    byte der[DER_MAX];
    int n, pem_type;

    if (k->wc_type == RSA_TYPE) {
        n = wc_RsaKeyToDer(&k->k.rsa, der, sizeof(der));
        pem_type = PRIVATEKEY_TYPE;
    } else if (k->wc_type == ECC_TYPE) {
        n = wc_EccKeyToDer(&k->k.ecc, der, sizeof(der));
        pem_type = ECC_PRIVATEKEY_TYPE;
    } else {
        n = wc_Ed25519KeyToDer(&k->k.ed, der, sizeof(der));
        pem_type = PKCS8_PRIVATEKEY_TYPE;
    }
    if (n < 0) {
        return n;
    }
    return wc_DerToPem(der, (word32)n, out, (word32)cap, pem_type);
}

static int key_from_pem(struct zoo_key *k, const byte *pem, int len)
{
    byte der[DER_MAX];
    word32 idx = 0;
    int n = wc_KeyPemToDer(pem, len, der, sizeof(der), NULL);

    if (n < 0) {
        return n;
    }
    if (k->wc_type == RSA_TYPE) {
        n = wc_RsaPrivateKeyDecode(der, &idx, &k->k.rsa, (word32)n);
        if (n == 0 && wc_RsaEncryptSize(&k->k.rsa) * 8 != key_bits(k->type)) {
            return BAD_FUNC_ARG;
        }
        return n;
    }
    if (k->wc_type == ECC_TYPE) {
        n = wc_EccPrivateKeyDecode(der, &idx, &k->k.ecc, (word32)n);
        if (n == 0 && wc_ecc_size(&k->k.ecc) * 8 != key_bits(k->type)) {
            return BAD_FUNC_ARG;
        }
        return n;
    }
    return wc_Ed25519PrivateKeyDecode(der, &idx, &k->k.ed, (word32)n);
}

/* Loads the cached key at PATH if it is of TYPE, else makes and caches one.
 * Sets *fresh when a new key was made. */
const char *zoo_key_error(int ret)
{
    return ret == ZOO_EIO ? strerror(errno) : wc_GetErrorString(ret);
}

int zoo_key_load_or_make(const char *path, enum zoo_key_type type, WC_RNG *rng, struct zoo_key *k,
                         bool *fresh)
{
    byte pem[PEM_MAX];
    int n, ret;

    if ((ret = key_init(k, type)) != 0) {
        return ret;
    }
    n = zoo_file_read(path, pem, sizeof(pem));
    if (n > 0 && key_from_pem(k, pem, n) == 0) {
        *fresh = false;
        return 0;
    }
    zoo_key_free(k);
    if ((ret = key_init(k, type)) != 0 || (ret = key_generate(k, rng)) != 0) {
        return ret;
    }
    if ((n = zoo_key_to_pem(k, pem, sizeof(pem))) < 0) {
        return n;
    }
    *fresh = true;
    return zoo_file_write(path, pem, (size_t)n, 0600) == 0 ? 0 : ZOO_EIO;
}
