/* Certificate and key minting with wolfCrypt. Each certificate carries what
 * strict verifiers (OpenSSL, GnuTLS, Python) want to see: basic constraints,
 * key usage, extended key usage, subject and authority key identifiers, and
 * subjectAltName for leaves. Private keys are written 0600, files atomically. */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "error.h"
#include "file.h"
#include "key.h"

#define DER_MAX 8192
#define PEM_MAX 12288

/* A CA (or the client certificate): its key and its certificate. */
struct authority {
    struct zoo_key key;
    byte der[DER_MAX];
    int der_len;
    bool fresh; /* minted in this run, so everything it signs is re-minted */
};

struct zoo_pki {
    char dir[PATH_MAX];
    WC_RNG rng;
    struct authority root, intermediate, untrusted, client_ca, client;
};

void zoo_pki_path(const char *dir, const char *name, char *buf, size_t len)
{
    char abs[PATH_MAX];

    snprintf(buf, len, "%s/%s", realpath(dir, abs) ? abs : dir, name);
}

void zoo_pki_leaf_path(const char *dir, const char *leaf, const char *suffix, char *buf, size_t len)
{
    char name[PATH_MAX];

    snprintf(name, sizeof(name), "leaf/%s%s", leaf, suffix);
    zoo_pki_path(dir, name, buf, len);
}

/* What one certificate should say. ISSUER NULL means self-signed. */
struct cert_req {
    const char *cn;
    bool ca;
    bool no_sub_ca; /* pathLenConstraint 0: may issue leaves only */
    const char *key_usage;
    const char *ext_key_usage; /* NULL: none */
    char *const *names;        /* subjectAltName: DNS names and IP addresses */
    size_t n_names;
    time_t not_before, not_after;
    enum zoo_signature sig;
    struct zoo_key *key;
    struct authority *issuer;
};

/* ASN.1 time: UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
static int encode_time(time_t t, byte *out)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    if (tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 < 2050) {
        out[0] = 0x17;
        out[1] = 13;
        strftime((char *)out + 2, 14, "%y%m%d%H%M%SZ", &tm);
        return 15;
    }
    out[0] = 0x18;
    out[1] = 15;
    strftime((char *)out + 2, 16, "%Y%m%d%H%M%SZ", &tm);
    return 17;
}

static size_t put_tlv(byte *out, byte tag, const byte *val, size_t len)
{
    size_t n = 0;

    out[n++] = tag;
    if (len >= 256) {
        out[n++] = 0x82;
        out[n++] = (byte)(len >> 8);
    } else if (len >= 128) {
        out[n++] = 0x81;
    }
    out[n++] = (byte)len;
    memcpy(out + n, val, len);
    return n + len;
}

/* GeneralNames for subjectAltName: dNSName [2] or iPAddress [7]. */
static int encode_names(char *const *names, size_t n, byte *out, size_t cap)
{
    byte body[4096], addr[16];
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (used + len + 4 > sizeof(body)) {
            return BUFFER_E;
        }
        if (inet_pton(AF_INET, names[i], addr) == 1) {
            used += put_tlv(body + used, 0x87, addr, 4);
        } else if (inet_pton(AF_INET6, names[i], addr) == 1) {
            used += put_tlv(body + used, 0x87, addr, 16);
        } else {
            used += put_tlv(body + used, 0x82, (const byte *)names[i], len);
        }
    }
    if (used + 4 > cap) {
        return BUFFER_E;
    }
    return (int)put_tlv(out, 0x30, body, used);
}

static int sig_type(const struct zoo_key *signer, enum zoo_signature sig)
{
    static const int ecdsa[] = {CTC_SHA256wECDSA, CTC_SHA384wECDSA, CTC_SHA512wECDSA,
                                CTC_SHAwECDSA};
    static const int rsa[] = {CTC_SHA256wRSA, CTC_SHA384wRSA, CTC_SHA512wRSA, CTC_SHAwRSA};

    if (signer->wc_type == ED25519_TYPE) {
        return CTC_ED25519;
    }
    return signer->wc_type == ECC_TYPE ? ecdsa[sig] : rsa[sig];
}

static void set_name(CertName *n, const char *cn)
{
    snprintf(n->org, CTC_NAME_SIZE, "tlszoo");
    snprintf(n->commonName, CTC_NAME_SIZE, "%s", cn);
}

/* Fills CERT from REQ: everything but the signature. */
static int cert_fill(Cert *cert, const struct cert_req *req)
{
    struct zoo_key *signer = req->issuer ? &req->issuer->key : req->key;
    int ret;

    if ((ret = wc_InitCert(cert)) != 0) {
        return ret;
    }
    set_name(&cert->subject, req->cn);
    cert->isCA = req->ca;
    cert->basicConstSet = 1; /* leaves say CA:FALSE explicitly */
    cert->pathLen = 0;
    cert->pathLenSet = req->no_sub_ca;
    cert->sigType = sig_type(signer, req->sig);
    cert->serialSz = 0; /* random */
    cert->beforeDateSz = encode_time(req->not_before, cert->beforeDate);
    cert->afterDateSz = encode_time(req->not_after, cert->afterDate);
    if (req->n_names > 0) {
        ret = encode_names(req->names, req->n_names, cert->altNames, sizeof(cert->altNames));
        if (ret < 0) {
            return ret;
        }
        cert->altNamesSz = ret;
    }
    if (req->issuer != NULL &&
        (ret = wc_SetIssuerBuffer(cert, req->issuer->der, req->issuer->der_len)) != 0) {
        return ret;
    }
    if ((ret = wc_SetSubjectKeyIdFromPublicKey_ex(cert, req->key->wc_type, &req->key->k)) != 0 ||
        (ret = wc_SetAuthKeyIdFromPublicKey_ex(cert, signer->wc_type, &signer->k)) != 0 ||
        (ret = wc_SetKeyUsage(cert, req->key_usage)) != 0) {
        return ret;
    }
    if (req->ext_key_usage != NULL) {
        ret = wc_SetExtKeyUsage(cert, req->ext_key_usage);
    }
    return ret;
}

/* Makes and signs the certificate REQ describes; DER into OUT (DER_MAX). */
static int cert_make(struct zoo_pki *pki, const struct cert_req *req, byte *out, int *out_len)
{
    struct zoo_key *signer = req->issuer ? &req->issuer->key : req->key;
    Cert *cert = malloc(sizeof(*cert));
    int ret;

    if (cert == NULL) {
        return MEMORY_E;
    }
    if ((ret = cert_fill(cert, req)) != 0) {
        goto out;
    }
    ret = wc_MakeCert_ex(cert, out, DER_MAX, req->key->wc_type, &req->key->k, &pki->rng);
    if (ret < 0) {
        goto out;
    }
    ret = wc_SignCert_ex(cert->bodySz, cert->sigType, out, DER_MAX, signer->wc_type, &signer->k,
                         &pki->rng);
    if (ret > 0) {
        *out_len = ret;
        ret = 0;
    }
out:
    free(cert);
    return ret;
}

static int der_to_pem(const byte *der, int len, byte *pem, size_t cap)
{
    return wc_DerToPem(der, (word32)len, pem, (word32)cap, CERT_TYPE);
}

/* Loads the authority STEM (key STEM.key, certificate CERT_FILE) or mints it
 * from REQ. A certificate is re-minted when its key or its issuer is new. */
static int authority_open(struct zoo_pki *pki, struct authority *a, const char *stem,
                          const char *cert_file, struct cert_req *req, char *err, size_t len)
{
    char path[PATH_MAX], name[64];
    byte pem[PEM_MAX];
    bool key_fresh;
    int n, ret;

    snprintf(name, sizeof(name), "%s.key", stem);
    zoo_pki_path(pki->dir, name, path, sizeof(path));
    if ((ret = zoo_key_load_or_make(path, req->key->type, &pki->rng, &a->key, &key_fresh)) != 0) {
        snprintf(err, len, "%s: cannot load or make key: %s", path, zoo_key_error(ret));
        return ZOO_ECRYPTO;
    }
    zoo_pki_path(pki->dir, cert_file, path, sizeof(path));
    n = zoo_file_read(path, pem, sizeof(pem));
    if (!key_fresh && !(req->issuer && req->issuer->fresh) && n > 0 &&
        (a->der_len = wc_CertPemToDer(pem, n, a->der, DER_MAX, CERT_TYPE)) > 0) {
        a->fresh = false;
        return 0;
    }
    a->fresh = true;
    if ((ret = cert_make(pki, req, a->der, &a->der_len)) != 0 ||
        (n = der_to_pem(a->der, a->der_len, pem, sizeof(pem))) < 0) {
        snprintf(err, len, "%s: cannot mint certificate: %s", path,
                 wc_GetErrorString(ret ? ret : n));
        return ZOO_ECRYPTO;
    }
    if (zoo_file_write(path, pem, (size_t)n, 0644) != 0) {
        snprintf(err, len, "%s: cannot write: %s", path, strerror(errno));
        return ZOO_EIO;
    }
    return 0;
}

static int open_authorities(struct zoo_pki *pki, char *err, size_t len)
{
    time_t now = time(NULL);
    struct cert_req ca = {.ca = true,
                          .key_usage = "keyCertSign,cRLSign",
                          .sig = ZOO_SIG_SHA256,
                          .not_before = now - 3600,
                          .not_after = now + 3650L * 86400};
    struct cert_req client = ca;
    int ret;

    ca.cn = "tlszoo Root CA";
    ca.key = &pki->root.key;
    if ((ret = authority_open(pki, &pki->root, "root", ZOO_PKI_CA, &ca, err, len)) != 0) {
        return ret;
    }
    ca.cn = "tlszoo Intermediate CA";
    ca.key = &pki->intermediate.key;
    ca.issuer = &pki->root;
    ca.no_sub_ca = true;
    if ((ret = authority_open(pki, &pki->intermediate, "intermediate", ZOO_PKI_INTERMEDIATE, &ca,
                              err, len)) != 0) {
        return ret;
    }
    ca.cn = "tlszoo Untrusted Root CA (not in ca.pem)";
    ca.key = &pki->untrusted.key;
    ca.issuer = NULL;
    ca.no_sub_ca = false;
    if ((ret = authority_open(pki, &pki->untrusted, "untrusted-root", ZOO_PKI_UNTRUSTED, &ca, err,
                              len)) != 0) {
        return ret;
    }
    ca.cn = "tlszoo Client CA";
    ca.key = &pki->client_ca.key;
    if ((ret = authority_open(pki, &pki->client_ca, "client-ca", ZOO_PKI_CLIENT_CA, &ca, err,
                              len)) != 0) {
        return ret;
    }
    client.cn = "tlszoo client";
    client.ca = false;
    client.key_usage = "digitalSignature";
    client.ext_key_usage = "clientAuth";
    client.key = &pki->client.key;
    client.issuer = &pki->client_ca;
    return authority_open(pki, &pki->client, "client", ZOO_PKI_CLIENT_CERT, &client, err, len);
}

struct zoo_pki *zoo_pki_open(const char *dir, char *err, size_t len)
{
    struct zoo_pki *pki = calloc(1, sizeof(*pki));
    char leaf_dir[PATH_MAX];

    if (pki == NULL) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    snprintf(pki->dir, sizeof(pki->dir), "%s", dir);
    snprintf(leaf_dir, sizeof(leaf_dir), "%s/leaf", dir);
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(leaf_dir, 0755) != 0 && errno != EEXIST)) {
        snprintf(err, len, "%s: cannot create directory: %s", leaf_dir, strerror(errno));
        free(pki);
        return NULL;
    }
    if (wc_InitRng(&pki->rng) != 0) {
        snprintf(err, len, "wc_InitRng() failed");
        free(pki);
        return NULL;
    }
    if (open_authorities(pki, err, len) != 0) {
        zoo_pki_free(pki);
        return NULL;
    }
    return pki;
}

void zoo_pki_free(struct zoo_pki *pki)
{
    if (pki == NULL) {
        return;
    }
    zoo_key_free(&pki->root.key);
    zoo_key_free(&pki->intermediate.key);
    zoo_key_free(&pki->untrusted.key);
    zoo_key_free(&pki->client_ca.key);
    zoo_key_free(&pki->client.key);
    wc_FreeRng(&pki->rng);
    free(pki);
}

void zoo_leaf_cleanup(struct zoo_leaf *leaf)
{
    free(leaf->chain_pem);
    free(leaf->key_pem);
    memset(leaf, 0, sizeof(*leaf));
}

/* A NUL-terminated heap copy of LEN bytes of PEM text. */
static char *text_copy(const byte *data, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy != NULL) {
        memcpy(copy, data, len);
        copy[len] = '\0';
    }
    return copy;
}

static char *slurp(const char *path, size_t *len)
{
    byte buf[PEM_MAX * 4];
    int n = zoo_file_read(path, buf, sizeof(buf));

    *len = n > 0 ? (size_t)n : 0;
    return n > 0 ? text_copy(buf, (size_t)n) : NULL;
}

static struct authority *leaf_issuer(struct zoo_pki *pki, enum zoo_issuer i)
{
    switch (i) {
    case ZOO_ISSUER_INTERMEDIATE:
        return &pki->intermediate;
    case ZOO_ISSUER_ROOT:
        return &pki->root;
    case ZOO_ISSUER_UNTRUSTED:
        return &pki->untrusted;
    case ZOO_ISSUER_SELF:
        return NULL;
    }
    return NULL;
}

/* Leaf PEM, then the issuing CA unless the chain is the leaf alone or the
 * issuer is the trust anchor itself. */
static int write_leaf(struct zoo_pki *pki, const struct zoo_scenario *s,
                      const struct authority *issuer, const byte *der, int der_len,
                      struct zoo_leaf *out)
{
    char path[PATH_MAX];
    byte pem[PEM_MAX * 2];
    int n = der_to_pem(der, der_len, pem, sizeof(pem)), m;

    if (n < 0) {
        return ZOO_ECRYPTO;
    }
    zoo_pki_leaf_path(pki->dir, s->name, ".pem", path, sizeof(path));
    if (zoo_file_write(path, pem, (size_t)n, 0644) != 0) {
        return ZOO_EIO;
    }
    if (issuer != NULL && issuer != &pki->root && s->chain == ZOO_CHAIN_FULL) {
        if ((m = der_to_pem(issuer->der, issuer->der_len, pem + n, sizeof(pem) - (size_t)n)) < 0) {
            return ZOO_ECRYPTO;
        }
        n += m;
    }
    zoo_pki_leaf_path(pki->dir, s->name, ".chain.pem", path, sizeof(path));
    if (zoo_file_write(path, pem, (size_t)n, 0644) != 0 ||
        (out->chain_pem = text_copy(pem, (size_t)n)) == NULL) {
        return ZOO_EIO;
    }
    out->chain_len = (size_t)n;
    return 0;
}

static int mint_leaf(struct zoo_pki *pki, const struct zoo_scenario *s, time_t now,
                     struct zoo_leaf *out, char *err, size_t len)
{
    char key_path[PATH_MAX], *defaults[] = {s->host, "localhost", "127.0.0.1", "::1"};
    struct zoo_key key = {0};
    byte der[DER_MAX], pem[PEM_MAX];
    bool fresh;
    int der_len = 0, n, ret;
    struct cert_req req = {.ca = false,
                           .ext_key_usage = "serverAuth",
                           .sig = s->cert.signature,
                           .key = &key,
                           .names = s->cert.names ? s->cert.names : defaults,
                           .n_names = s->cert.names ? s->cert.n_names : 4,
                           .not_before = zoo_when_resolve(&s->cert.not_before, now),
                           .not_after = zoo_when_resolve(&s->cert.not_after, now),
                           .issuer = leaf_issuer(pki, s->cert.issuer)};

    req.cn = req.names[0];
    zoo_pki_leaf_path(pki->dir, s->name, ".key", key_path, sizeof(key_path));
    if ((ret = zoo_key_load_or_make(key_path, s->cert.key, &pki->rng, &key, &fresh)) != 0) {
        snprintf(err, len, "%s: cannot load or make key: %s", key_path, zoo_key_error(ret));
        zoo_key_free(&key);
        return ZOO_ECRYPTO;
    }
    /* Static RSA key exchange (TLS 1.2 and older) needs keyEncipherment. */
    req.key_usage =
        key.wc_type == RSA_TYPE ? "digitalSignature,keyEncipherment" : "digitalSignature";
    if ((ret = cert_make(pki, &req, der, &der_len)) != 0 ||
        (n = zoo_key_to_pem(&key, pem, sizeof(pem))) < 0) {
        snprintf(err, len, "scenario '%s': cannot mint leaf: %s", s->name, wc_GetErrorString(ret));
        zoo_key_free(&key);
        return ZOO_ECRYPTO;
    }
    zoo_key_free(&key);
    if ((out->key_pem = text_copy(pem, (size_t)n)) == NULL) {
        return ZOO_ENOMEM;
    }
    out->key_len = (size_t)n;
    if ((ret = write_leaf(pki, s, req.issuer, der, der_len, out)) != 0) {
        snprintf(err, len, "scenario '%s': cannot write leaf into %s/leaf", s->name, pki->dir);
    }
    return ret;
}

int zoo_pki_leaf(struct zoo_pki *pki, const struct zoo_scenario *s, time_t now,
                 struct zoo_leaf *out, char *err, size_t len)
{
    int ret;

    memset(out, 0, sizeof(*out));
    if (s->cert.file == NULL) {
        ret = mint_leaf(pki, s, now, out, err, len);
    } else if ((out->chain_pem = slurp(s->cert.file, &out->chain_len)) == NULL ||
               (out->key_pem = slurp(s->cert.key_file, &out->key_len)) == NULL) {
        snprintf(err, len, "scenario '%s': cannot read %s or %s", s->name, s->cert.file,
                 s->cert.key_file);
        ret = ZOO_EIO;
    } else {
        ret = 0;
    }
    if (ret != 0) {
        zoo_leaf_cleanup(out);
    }
    return ret;
}
