/* JA3 and JA4 client fingerprints from a parsed ClientHello. JA3 follows the Salesforce
 * definition as Wireshark computes it; JA4 follows FoxIO's technical_details/JA4.md for TLS
 * over TCP. The digests come from wolfCrypt, the only crypto library the zoo links. */
#include "fingerprint.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/md5.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "error.h"

#define EXT_SERVER_NAME 0x0000
#define EXT_ALPN 0x0010

/* Appends to a fixed buffer and remembers whether anything did not fit. */
struct sb {
    char *p;
    size_t len;
    size_t cap;
    bool overflow;
};

/* The three parts of JA4 before hashing: "t13d1516h2", ciphers, "extensions_sigalgs". */
struct ja4_parts {
    char a[11];
    char b[ZOO_HELLO_MAX_SUITES * 5 + 1];
    char c[(ZOO_HELLO_MAX_EXTENSIONS + ZOO_HELLO_MAX_SIG_ALGS) * 5 + 2];
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->overflow) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->overflow = true;
        return;
    }
    b->len += (size_t)n;
}

static void sb_init(struct sb *b, char *p, size_t cap)
{
    b->p = p;
    b->len = 0;
    b->cap = cap;
    b->overflow = cap == 0;
    if (cap > 0) {
        p[0] = '\0';
    }
}

static void hex_encode(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* VALUES in decimal joined by '-', GREASE left out (JA3 ignores it). */
static void ja3_join(struct sb *b, const uint16_t *values, size_t n)
{
    const char *sep = "";

    for (size_t i = 0; i < n; i++) {
        if (!zoo_hello_is_grease(values[i])) {
            sb_add(b, "%s%u", sep, values[i]);
            sep = "-";
        }
    }
}

int zoo_ja3(const struct zoo_hello *h, char *str, size_t len, char md5_hex[33])
{
    uint8_t digest[WC_MD5_DIGEST_SIZE];
    struct sb b;

    sb_init(&b, str, len);
    sb_add(&b, "%u,", h->legacy_version);
    ja3_join(&b, h->suites, h->n_suites);
    sb_add(&b, ",");
    ja3_join(&b, h->extensions, h->n_extensions);
    sb_add(&b, ",");
    ja3_join(&b, h->groups, h->n_groups);
    sb_add(&b, ",");
    for (size_t i = 0; i < h->n_point_formats; i++) {
        sb_add(&b, "%s%u", i == 0 ? "" : "-", h->point_formats[i]);
    }
    if (b.overflow) {
        return ZOO_EINVAL;
    }
    if (wc_Md5Hash((const byte *)str, (word32)b.len, digest) != 0) {
        return ZOO_ECRYPTO;
    }
    hex_encode(digest, sizeof(digest), md5_hex);
    return 0;
}

/* JA4.md "TLS and DTLS Version": highest non-GREASE supported_versions, else client_version. */
static const char *ja4_version(const struct zoo_hello *h)
{
    static const struct {
        uint16_t v;
        const char *s;
    } names[] = {{0x0304, "13"}, {0x0303, "12"}, {0x0302, "11"}, {0x0301, "10"}, {0x0300, "s3"},
                 {0x0002, "s2"}, {0xfeff, "d1"}, {0xfefd, "d2"}, {0xfefc, "d3"}};
    uint16_t best = h->legacy_version;
    bool found = false;

    for (size_t i = 0; i < h->n_versions; i++) {
        if (!zoo_hello_is_grease(h->versions[i]) && (!found || h->versions[i] > best)) {
            best = h->versions[i];
            found = true;
        }
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].v == best) {
            return names[i].s;
        }
    }
    return "00";
}

static bool is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* JA4.md "ALPN Extension Value": first and last character of the first protocol, "00" if
 * none; if either end is not alphanumeric, the first and last digit of its hex form. */
static void ja4_alpn(const struct zoo_hello *h, char out[3])
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *s = (const uint8_t *)h->alpn[0];
    size_t n = h->n_alpn > 0 ? h->alpn_len[0] : 0;

    if (n == 0) {
        memcpy(out, "00", 3);
        return;
    }
    if (is_alnum(s[0]) && is_alnum(s[n - 1])) {
        out[0] = (char)s[0];
        out[1] = (char)s[n - 1];
    } else {
        out[0] = digits[s[0] >> 4];
        out[1] = digits[s[n - 1] & 0x0f];
    }
    out[2] = '\0';
}

static size_t count_non_grease(const uint16_t *v, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        count += !zoo_hello_is_grease(v[i]);
    }
    return count < 99 ? count : 99;
}

static bool has_extension(const struct zoo_hello *h, uint16_t type)
{
    for (size_t i = 0; i < h->n_extensions; i++) {
        if (h->extensions[i] == type) {
            return true;
        }
    }
    return false;
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

    return (x > y) - (x < y);
}

/* VALUES minus GREASE (and minus SNI and ALPN if SKIP_SNI_ALPN), sorted, as "%04x" joined by
 * ','. At most ZOO_HELLO_MAX_SUITES values, the largest list a zoo_hello holds. */
static void ja4_sorted(struct sb *b, const uint16_t *values, size_t n, bool skip_sni_alpn)
{
    uint16_t v[ZOO_HELLO_MAX_SUITES];
    size_t k = 0;

    for (size_t i = 0; i < n && k < ZOO_HELLO_MAX_SUITES; i++) {
        if (zoo_hello_is_grease(values[i]) ||
            (skip_sni_alpn && (values[i] == EXT_SERVER_NAME || values[i] == EXT_ALPN))) {
            continue;
        }
        v[k++] = values[i];
    }
    if (k > 0) {
        qsort(v, k, sizeof(v[0]), cmp_u16);
    }
    for (size_t i = 0; i < k; i++) {
        sb_add(b, "%s%04x", i == 0 ? "" : ",", v[i]);
    }
}

static int ja4_build(const struct zoo_hello *h, struct ja4_parts *p)
{
    struct sb b, c;
    char alpn[3];
    const char *sep = "_";

    ja4_alpn(h, alpn);
    if ((size_t)snprintf(p->a, sizeof(p->a), "t%s%c%02zu%02zu%s", ja4_version(h),
                         h->has_sni || has_extension(h, EXT_SERVER_NAME) ? 'd' : 'i',
                         count_non_grease(h->suites, h->n_suites),
                         count_non_grease(h->extensions, h->n_extensions), alpn) >= sizeof(p->a)) {
        return ZOO_EINVAL; /* cannot happen: counts are capped at 99 */
    }
    sb_init(&b, p->b, sizeof(p->b));
    ja4_sorted(&b, h->suites, h->n_suites, false);
    sb_init(&c, p->c, sizeof(p->c));
    ja4_sorted(&c, h->extensions, h->n_extensions, true);
    /* Signature algorithms keep their order; no '_' at all when there are none. */
    for (size_t i = 0; i < h->n_sig_algs; i++) {
        if (!zoo_hello_is_grease(h->sig_algs[i])) {
            sb_add(&c, "%s%04x", sep, h->sig_algs[i]);
            sep = ",";
        }
    }
    return b.overflow || c.overflow ? ZOO_EINVAL : 0;
}

/* First 12 hex digits of SHA-256(S); "000000000000" for an empty list (JA4.md). */
static int hash12(const char *s, char out[13])
{
    uint8_t digest[WC_SHA256_DIGEST_SIZE];

    if (s[0] == '\0') {
        memcpy(out, "000000000000", 13);
        return 0;
    }
    if (wc_Sha256Hash((const byte *)s, (word32)strlen(s), digest) != 0) {
        return ZOO_ECRYPTO;
    }
    hex_encode(digest, 6, out);
    return 0;
}

int zoo_ja4(const struct zoo_hello *h, char *out, size_t len)
{
    struct ja4_parts p;
    char hb[13], hc[13];
    int rc;

    if ((rc = ja4_build(h, &p)) != 0 || (rc = hash12(p.b, hb)) != 0 ||
        (rc = hash12(p.c, hc)) != 0) {
        return rc;
    }
    if ((size_t)snprintf(out, len, "%s_%s_%s", p.a, hb, hc) >= len) {
        return ZOO_EINVAL;
    }
    return 0;
}

int zoo_ja4_raw(const struct zoo_hello *h, char *out, size_t len)
{
    struct ja4_parts p;
    int rc;

    if ((rc = ja4_build(h, &p)) != 0) {
        return rc;
    }
    if ((size_t)snprintf(out, len, "%s_%s_%s", p.a, p.b, p.c) >= len) {
        return ZOO_EINVAL;
    }
    return 0;
}
