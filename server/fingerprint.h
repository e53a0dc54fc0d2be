/* Client fingerprints computed from a parsed ClientHello: JA3 (Salesforce, MD5 of a decimal
 * summary) and JA4 (FoxIO, technical_details/JA4.md, TLS over TCP). Both ignore RFC 8701
 * GREASE values, so one client keeps one fingerprint across connections. */
#ifndef ZOO_FINGERPRINT_H
#define ZOO_FINGERPRINT_H

#include <stddef.h>

#include "hello.h"

#define ZOO_JA3_MAX 6144     /* room for any JA3 string of a zoo_hello, with its NUL */
#define ZOO_JA4_LEN 37       /* "t13d1516h2_8daaf6152771_e5627efa2ab1" and its NUL */
#define ZOO_JA4_RAW_MAX 4096 /* room for any JA4_r string of a zoo_hello, with its NUL */

/* JA3 string "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats"
 * (decimal, '-'-joined, GREASE removed) into STR (LEN bytes; ZOO_JA3_MAX always fits) and its
 * MD5 as 32 lowercase hex digits. 0, ZOO_EINVAL if STR is too small, ZOO_ECRYPTO. */
int zoo_ja3(const struct zoo_hello *h, char *str, size_t len, char md5_hex[33]);

/* JA4 fingerprint into OUT (LEN >= ZOO_JA4_LEN). 0, ZOO_EINVAL if OUT is too small,
 * ZOO_ECRYPTO. */
int zoo_ja4(const struct zoo_hello *h, char *out, size_t len);

/* JA4_r, the same before hashing ("t13d1516h2_002f,0035,..._0005,000a,..._0403,..."), into OUT
 * (LEN bytes; ZOO_JA4_RAW_MAX always fits). 0 or ZOO_EINVAL if OUT is too small. */
int zoo_ja4_raw(const struct zoo_hello *h, char *out, size_t len);

#endif
