/* wolfCrypt's own speed on this machine, for `make bench`: ECDSA P-256
 * sign, RSA-2048 sign and X25519 key generation and agreement, each as
 * operations per CPU-second of one thread. These are the ceilings a
 * wolfSSL server's handshake rate is compared with. Prints one JSON line. */
#include <wolfssl/options.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

struct bench {
    WC_RNG rng;
    ecc_key ecc;
    RsaKey rsa;
    curve25519_key x_ours, x_peer;
    double seconds;
};

typedef int (*op_fn)(struct bench *b);

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs OP for B->seconds of CPU time; operations per CPU-second, or -1 on
 * the first failure. */
static double rate(struct bench *b, op_fn op)
{
    double t0 = cpu_now(), t;
    long n = 0;

    do {
        if (op(b) != 0) {
            return -1;
        }
        n++;
    } while ((t = cpu_now() - t0) < b->seconds && n < 100000000L);
    return (double)n / t;
}

static const byte digest[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static int ecdsa_sign(struct bench *b)
{
    byte sig[ECC_MAX_SIG_SIZE];
    word32 len = sizeof(sig);

    return wc_ecc_sign_hash(digest, sizeof(digest), sig, &len, &b->rng, &b->ecc);
}

static int rsa_sign(struct bench *b)
{
    byte sig[256];

    return wc_RsaSSL_Sign(digest, sizeof(digest), sig, sizeof(sig), &b->rsa, &b->rng) ==
                   (int)sizeof(sig)
               ? 0
               : -1;
}

static int x25519_keygen(struct bench *b)
{
    curve25519_key k;
    int r;

    if (wc_curve25519_init(&k) != 0) {
        return -1;
    }
    r = wc_curve25519_make_key(&b->rng, CURVE25519_KEYSIZE, &k);
    wc_curve25519_free(&k);
    return r;
}

static int x25519_derive(struct bench *b)
{
    byte secret[CURVE25519_KEYSIZE];
    word32 len = sizeof(secret);

    return wc_curve25519_shared_secret(&b->x_ours, &b->x_peer, secret, &len);
}

/* Makes the keys once; the timed loops only use them. */
static int setup(struct bench *b)
{
    if (wc_InitRng(&b->rng) != 0 || wc_ecc_init(&b->ecc) != 0 ||
        wc_ecc_make_key_ex(&b->rng, 32, &b->ecc, ECC_SECP256R1) != 0) {
        return -1;
    }
    if (wc_InitRsaKey(&b->rsa, NULL) != 0 || wc_MakeRsaKey(&b->rsa, 2048, 65537, &b->rng) != 0 ||
        wc_RsaSetRNG(&b->rsa, &b->rng) != 0) {
        return -1;
    }
    if (wc_curve25519_init(&b->x_ours) != 0 || wc_curve25519_init(&b->x_peer) != 0 ||
        wc_curve25519_make_key(&b->rng, CURVE25519_KEYSIZE, &b->x_ours) != 0 ||
        wc_curve25519_make_key(&b->rng, CURVE25519_KEYSIZE, &b->x_peer) != 0) {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct bench b; /* large keys: not on the stack */
    static const struct {
        const char *name;
        op_fn op;
    } ops[] = {{"ecdsa_p256_sign", ecdsa_sign},
               {"rsa2048_sign", rsa_sign},
               {"x25519_keygen", x25519_keygen},
               {"x25519_derive", x25519_derive}};

    b.seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (b.seconds <= 0 || wolfCrypt_Init() != 0 || setup(&b) != 0) {
        fprintf(stderr, "cryptorate: usage: cryptorate [SECONDS]; or wolfCrypt set-up failed\n");
        return 1;
    }
    printf("{\"library\":\"wolfCrypt %s\"", LIBWOLFSSL_VERSION_STRING);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        double r = rate(&b, ops[i].op);
        if (r < 0) {
            fprintf(stderr, "cryptorate: %s failed\n", ops[i].name);
            return 1;
        }
        printf(",\"%s\":%.1f", ops[i].name, r);
    }
    printf("}\n");
    (void)wc_ecc_free(&b.ecc);
    (void)wc_FreeRsaKey(&b.rsa);
    wc_curve25519_free(&b.x_ours);
    wc_curve25519_free(&b.x_peer);
    (void)wc_FreeRng(&b.rng);
    (void)wolfCrypt_Cleanup();
    return 0;
}
