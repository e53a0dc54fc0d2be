/* Minted certificates parsed back: dates, names, issuer, basic constraints,
 * key usage, persistence of the CAs, and file permissions. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>

#include "error.h"
#include "pki.h"

static char dir[64];
static struct zoo_pki *pki;

static void open_pki(void)
{
    char err[512];

    snprintf(dir, sizeof(dir), "/tmp/tlszoo-pki-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    pki = zoo_pki_open(dir, err, sizeof(err));
    ck_assert_msg(pki != NULL, "%s", err);
}

static void close_pki(void)
{
    char cmd[128];

    zoo_pki_free(pki);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static WOLFSSL_X509 *load(const char *name)
{
    char path[512];
    WOLFSSL_X509 *x;

    zoo_pki_path(dir, name, path, sizeof(path));
    x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_PEM);
    ck_assert_msg(x != NULL, "cannot parse %s", path);
    return x;
}

static const char *issuer_of(WOLFSSL_X509 *x, char *buf, int len)
{
    return wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(x), buf, len);
}

static const char *subject_of(WOLFSSL_X509 *x, char *buf, int len)
{
    return wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x), buf, len);
}

/* A scenario with the defaults and NAME; the caller may change fields. */
static struct zoo_scenario scenario(const char *name)
{
    static char host[128];
    struct zoo_scenario s;

    zoo_scenario_init(&s);
    snprintf(host, sizeof(host), "%s.tlszoo.localhost", name);
    s.name = (char *)name;
    s.host = host;
    return s;
}

static WOLFSSL_X509 *mint(struct zoo_scenario *s, struct zoo_leaf *leaf)
{
    char err[512], name[128];

    ck_assert_msg(zoo_pki_leaf(pki, s, time(NULL), leaf, err, sizeof(err)) == 0, "%s", err);
    snprintf(name, sizeof(name), "leaf/%s.pem", s->name);
    return load(name);
}

/* Whether the subjectAltName holds iPAddress ::1 ([7] with 16 bytes);
 * wolfSSL_X509_check_ip_asc only matches IPv4. */
static bool has_ipv6_loopback(WOLFSSL_X509 *x)
{
    static const unsigned char want[18] = {0x87, 16, 0, 0, 0, 0, 0, 0, 0,
                                           0,    0,  0, 0, 0, 0, 0, 0, 1};
    int len = 0;
    const unsigned char *der = wolfSSL_X509_get_der(x, &len);

    return der != NULL && memmem(der, (size_t)len, want, sizeof(want)) != NULL;
}

/* Seconds between the certificate time T and now, to a day's precision. */
static int days_from_now(const WOLFSSL_ASN1_TIME *t)
{
    int days = 0, secs = 0;

    ck_assert_int_eq(wolfSSL_ASN1_TIME_diff(&days, &secs, NULL, t), WOLFSSL_SUCCESS);
    return days;
}

START_TEST(pki_mints_ca_hierarchy)
{
    WOLFSSL_X509 *root = load(ZOO_PKI_CA), *inter = load(ZOO_PKI_INTERMEDIATE);
    char a[256], b[256];

    ck_assert_int_eq(wolfSSL_X509_get_isCA(root), 1);
    ck_assert_int_eq(wolfSSL_X509_get_isCA(inter), 1);
    ck_assert_str_eq(issuer_of(root, a, sizeof(a)), subject_of(root, b, sizeof(b)));
    ck_assert_str_eq(issuer_of(inter, a, sizeof(a)), subject_of(root, b, sizeof(b)));
    ck_assert_ptr_nonnull(strstr(subject_of(inter, a, sizeof(a)), "tlszoo Intermediate CA"));
    ck_assert_uint_eq(wolfSSL_X509_get_pathLength(inter), 0);
    ck_assert_uint_eq(wolfSSL_X509_get_keyUsage(root) & KEYUSE_KEY_CERT_SIGN, KEYUSE_KEY_CERT_SIGN);
    ck_assert_int_ge(days_from_now(wolfSSL_X509_get_notAfter(root)), 3640);
    wolfSSL_X509_free(root);
    wolfSSL_X509_free(inter);
}
END_TEST

START_TEST(pki_verifies_intermediate_against_root)
{
    char ca[512], inter[512];
    WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();

    zoo_pki_path(dir, ZOO_PKI_CA, ca, sizeof(ca));
    zoo_pki_path(dir, ZOO_PKI_INTERMEDIATE, inter, sizeof(inter));
    ck_assert_int_eq(wolfSSL_CertManagerLoadCA(cm, ca, NULL), WOLFSSL_SUCCESS);
    ck_assert_int_eq(wolfSSL_CertManagerVerify(cm, inter, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
    zoo_pki_path(dir, ZOO_PKI_UNTRUSTED, inter, sizeof(inter));
    ck_assert_int_ne(wolfSSL_CertManagerVerify(cm, inter, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
    wolfSSL_CertManagerFree(cm);
}
END_TEST

START_TEST(pki_keeps_cas_across_restarts)
{
    char err[512], path[512], before[4096], after[4096];
    FILE *f;
    size_t n1, n2;

    zoo_pki_path(dir, ZOO_PKI_INTERMEDIATE, path, sizeof(path));
    f = fopen(path, "r");
    n1 = fread(before, 1, sizeof(before), f);
    fclose(f);
    zoo_pki_free(pki);
    pki = zoo_pki_open(dir, err, sizeof(err));
    ck_assert_msg(pki != NULL, "%s", err);
    f = fopen(path, "r");
    n2 = fread(after, 1, sizeof(after), f);
    fclose(f);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(before, after, n1) == 0);
}
END_TEST

START_TEST(pki_mints_valid_leaf_with_names_and_usage)
{
    struct zoo_scenario s = scenario("valid");
    struct zoo_leaf leaf;
    WOLFSSL_X509 *x = mint(&s, &leaf);
    char a[256];

    ck_assert_int_eq(wolfSSL_X509_get_isCA(x), 0);
    ck_assert_ptr_nonnull(strstr(issuer_of(x, a, sizeof(a)), "tlszoo Intermediate CA"));
    ck_assert_int_eq(wolfSSL_X509_check_host(x, "valid.tlszoo.localhost", 22, 0, NULL), 1);
    ck_assert_int_eq(wolfSSL_X509_check_host(x, "localhost", 9, 0, NULL), 1);
    ck_assert_int_ne(wolfSSL_X509_check_host(x, "other.tlszoo.localhost", 22, 0, NULL), 1);
    ck_assert_int_eq(wolfSSL_X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    ck_assert(has_ipv6_loopback(x));
    ck_assert_uint_eq(wolfSSL_X509_get_keyUsage(x), KEYUSE_DIGITAL_SIG);
    ck_assert_uint_ne(wolfSSL_X509_get_extended_key_usage(x), 0);
    ck_assert_int_le(days_from_now(wolfSSL_X509_get_notBefore(x)), 0);
    ck_assert_int_ge(days_from_now(wolfSSL_X509_get_notAfter(x)), 89);
    /* The chain the server sends: leaf then intermediate. */
    ck_assert_ptr_nonnull(
        strstr(strstr(leaf.chain_pem, "END CERTIFICATE") + 1, "BEGIN CERTIFICATE"));
    wolfSSL_X509_free(x);
    zoo_leaf_cleanup(&leaf);
}
END_TEST

START_TEST(pki_mints_expired_leaf)
{
    struct zoo_scenario s = scenario("expired");
    struct zoo_leaf leaf;
    WOLFSSL_X509 *x;

    s.cert.not_before = (struct zoo_when){true, -400 * 86400};
    s.cert.not_after = (struct zoo_when){true, -30 * 86400};
    x = mint(&s, &leaf);
    ck_assert_int_eq(days_from_now(wolfSSL_X509_get_notAfter(x)), -30);
    ck_assert_int_eq(days_from_now(wolfSSL_X509_get_notBefore(x)), -400);
    wolfSSL_X509_free(x);
    zoo_leaf_cleanup(&leaf);
}
END_TEST

START_TEST(pki_mints_absolute_dates_after_2049)
{
    struct zoo_scenario s = scenario("far");
    struct zoo_leaf leaf;
    WOLFSSL_X509 *x;
    time_t t2060 = 2840140800; /* 2060-01-01, needs GeneralizedTime */

    s.cert.not_after = (struct zoo_when){false, t2060};
    x = mint(&s, &leaf);
    ck_assert_int_eq(wolfSSL_X509_cmp_time(wolfSSL_X509_get_notAfter(x), &(time_t){t2060 - 1}), 1);
    ck_assert_int_eq(wolfSSL_X509_cmp_time(wolfSSL_X509_get_notAfter(x), &(time_t){t2060 + 1}), -1);
    wolfSSL_X509_free(x);
    zoo_leaf_cleanup(&leaf);
}
END_TEST

START_TEST(pki_mints_self_signed_leaf_alone)
{
    struct zoo_scenario s = scenario("self-signed");
    struct zoo_leaf leaf;
    WOLFSSL_X509 *x;
    char a[256], b[256];

    s.cert.issuer = ZOO_ISSUER_SELF;
    x = mint(&s, &leaf);
    ck_assert_str_eq(issuer_of(x, a, sizeof(a)), subject_of(x, b, sizeof(b)));
    ck_assert_ptr_null(strstr(strstr(leaf.chain_pem, "END CERTIFICATE") + 1, "BEGIN"));
    wolfSSL_X509_free(x);
    zoo_leaf_cleanup(&leaf);
}
END_TEST

START_TEST(pki_mints_rsa_leaf_for_key_exchange_and_wrong_names)
{
    struct zoo_scenario s = scenario("rsa");
    char *names[] = {"not-this-host.example"};
    struct zoo_leaf leaf;
    WOLFSSL_X509 *x;

    s.cert.key = ZOO_KEY_RSA2048;
    s.cert.names = names;
    s.cert.n_names = 1;
    s.chain = ZOO_CHAIN_LEAF;
    x = mint(&s, &leaf);
    ck_assert_uint_eq(wolfSSL_X509_get_keyUsage(x), KEYUSE_DIGITAL_SIG | KEYUSE_KEY_ENCIPHER);
    ck_assert_int_eq(wolfSSL_X509_check_host(x, "not-this-host.example", 21, 0, NULL), 1);
    ck_assert_int_ne(wolfSSL_X509_check_host(x, "rsa.tlszoo.localhost", 20, 0, NULL), 1);
    ck_assert_ptr_nonnull(strstr(leaf.key_pem, "BEGIN RSA PRIVATE KEY"));
    wolfSSL_X509_free(x);
    zoo_leaf_cleanup(&leaf);
    s.cert.names = NULL;
}
END_TEST

START_TEST(pki_writes_private_keys_0600)
{
    static const char *keys[] = {"root.key", "intermediate.key", "untrusted-root.key",
                                 "client-ca.key", ZOO_PKI_CLIENT_KEY};
    char path[512];
    struct stat st;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        zoo_pki_path(dir, keys[i], path, sizeof(path));
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
    }
}
END_TEST

START_TEST(pki_client_certificate_is_for_client_auth)
{
    WOLFSSL_X509 *x = load(ZOO_PKI_CLIENT_CERT);
    char a[256];

    ck_assert_int_eq(wolfSSL_X509_get_isCA(x), 0);
    ck_assert_ptr_nonnull(strstr(issuer_of(x, a, sizeof(a)), "tlszoo Client CA"));
    ck_assert_uint_ne(wolfSSL_X509_get_extended_key_usage(x), 0);
    wolfSSL_X509_free(x);
}
END_TEST

START_TEST(pki_rejects_unwritable_directory)
{
    char err[512] = "";

    ck_assert_ptr_null(zoo_pki_open("/proc/tlszoo-no/such", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "cannot create directory"));
}
END_TEST

START_TEST(pki_rejects_unreadable_own_certificate)
{
    struct zoo_scenario s = scenario("byo");
    struct zoo_leaf leaf;
    char err[512] = "";

    s.cert.file = "/nonexistent/cert.pem";
    s.cert.key_file = "/nonexistent/key.pem";
    ck_assert_int_eq(zoo_pki_leaf(pki, &s, time(NULL), &leaf, err, sizeof(err)), ZOO_EIO);
    ck_assert_ptr_nonnull(strstr(err, "scenario 'byo': cannot read /nonexistent/cert.pem"));
    s.cert.file = s.cert.key_file = NULL;
}
END_TEST

Suite *pki_suite(void)
{
    Suite *s = suite_create("pki");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, open_pki, close_pki);
    tcase_add_test(tc, pki_mints_ca_hierarchy);
    tcase_add_test(tc, pki_verifies_intermediate_against_root);
    tcase_add_test(tc, pki_keeps_cas_across_restarts);
    tcase_add_test(tc, pki_mints_valid_leaf_with_names_and_usage);
    tcase_add_test(tc, pki_mints_expired_leaf);
    tcase_add_test(tc, pki_mints_absolute_dates_after_2049);
    tcase_add_test(tc, pki_mints_self_signed_leaf_alone);
    tcase_add_test(tc, pki_mints_rsa_leaf_for_key_exchange_and_wrong_names);
    tcase_add_test(tc, pki_writes_private_keys_0600);
    tcase_add_test(tc, pki_client_certificate_is_for_client_auth);
    tcase_add_test(tc, pki_rejects_unwritable_directory);
    tcase_add_test(tc, pki_rejects_unreadable_own_certificate);
    suite_add_tcase(s, tc);
    return s;
}
