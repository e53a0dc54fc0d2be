/* JA3 and JA4: the worked example of FoxIO's JA4 specification (technical_details/JA4.md)
 * with its raw and hashed forms, the spec's ALPN and version rules, and the recorded real
 * clients, whose JA3 tshark computed independently (fixtures/tshark-fingerprints.txt). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fingerprint.h"
#include "hello.h"

#define BUF_MAX (70 * 1024)

/* The example of JA4.md: ciphers, extensions and signature algorithms in wire order. */
static const uint16_t spec_suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                       0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                                       0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t spec_exts[] = {0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017,
                                     0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b,
                                     0xff01, 0x000b, 0x000a, 0x0015};
static const uint16_t spec_sigs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                     0x0805, 0x0501, 0x0806, 0x0601};

static void set_list(uint16_t *dst, size_t *n, const uint16_t *src, size_t count)
{
    memcpy(dst, src, count * sizeof(*src));
    *n = count;
}

static void spec_example(struct zoo_hello *h)
{
    memset(h, 0, sizeof(*h));
    h->legacy_version = 0x0303;
    h->versions[h->n_versions++] = 0x0304;
    h->versions[h->n_versions++] = 0x0303;
    set_list(h->suites, &h->n_suites, spec_suites, 15);
    set_list(h->extensions, &h->n_extensions, spec_exts, 16);
    set_list(h->sig_algs, &h->n_sig_algs, spec_sigs, 8);
    strcpy(h->sni, "example.com");
    h->has_sni = true;
    strcpy(h->alpn[0], "h2");
    h->alpn_len[0] = 2;
    strcpy(h->alpn[1], "http/1.1");
    h->alpn_len[1] = 8;
    h->n_alpn = 2;
}

static const char *ja4_of(const struct zoo_hello *h)
{
    static char out[ZOO_JA4_LEN];

    ck_assert_int_eq(zoo_ja4(h, out, sizeof(out)), 0);
    return out;
}

START_TEST(fingerprint_ja4_matches_spec_example)
{
    struct zoo_hello h;
    char raw[ZOO_JA4_RAW_MAX];

    spec_example(&h);
    ck_assert_str_eq(ja4_of(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    ck_assert_int_eq(zoo_ja4_raw(&h, raw, sizeof(raw)), 0);
    ck_assert_str_eq(raw, "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
                          "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,"
                          "002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601");
}
END_TEST

START_TEST(fingerprint_ja4_ignores_grease)
{
    struct zoo_hello h;

    spec_example(&h);
    h.suites[h.n_suites++] = 0x0a0a;
    memmove(h.extensions + 1, h.extensions, h.n_extensions++ * sizeof(uint16_t));
    h.extensions[0] = 0xdada;
    h.extensions[h.n_extensions++] = 0x3a3a;
    h.versions[h.n_versions++] = 0xfafa;
    h.sig_algs[h.n_sig_algs++] = 0x1a1a;
    ck_assert_str_eq(ja4_of(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
}
END_TEST

/* JA4.md: "If there are no signature algorithms ... the string ends without an underscore". */
START_TEST(fingerprint_ja4_hashes_extensions_alone_without_sig_algs)
{
    struct zoo_hello h;

    spec_example(&h);
    h.n_sig_algs = 0;
    ck_assert_str_eq(ja4_of(&h), "t13d1516h2_8daaf6152771_6d807ffa2a79");
}
END_TEST

START_TEST(fingerprint_ja4_uses_zeros_for_empty_lists)
{
    struct zoo_hello h;
    char raw[ZOO_JA4_RAW_MAX];

    memset(&h, 0, sizeof(h));
    h.legacy_version = 0x0303;
    ck_assert_str_eq(ja4_of(&h), "t12i000000_000000000000_000000000000");
    ck_assert_int_eq(zoo_ja4_raw(&h, raw, sizeof(raw)), 0);
    ck_assert_str_eq(raw, "t12i000000__");
}
END_TEST

/* The examples of JA4.md "ALPN Extension Value". */
START_TEST(fingerprint_ja4_applies_alpn_rules)
{
    static const struct {
        const char *value;
        size_t len;
        const char *want;
    } cases[] = {{"h2", 2, "h2"},
                 {"http/1.1", 8, "h1"},
                 {"a", 1, "aa"},
                 {"\xab", 1, "ab"},
                 {"\xab\xcd", 2, "ad"},
                 {"0\xab", 2, "3b"},
                 {"01\xab\xcd", 4, "3d"},
                 {"0\xab\xcd"
                  "1",
                  4, "01"},
                 {"", 0, "00"}};
    struct zoo_hello h;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        spec_example(&h);
        memcpy(h.alpn[0], cases[i].value, cases[i].len);
        h.alpn_len[0] = cases[i].len;
        h.n_alpn = cases[i].len > 0 ? 1 : 0;
        ck_assert_msg(strncmp(ja4_of(&h) + 8, cases[i].want, 2) == 0, "case %zu: %s", i,
                      ja4_of(&h));
    }
}
END_TEST

START_TEST(fingerprint_ja4_takes_highest_supported_version)
{
    static const struct {
        uint16_t legacy;
        uint16_t versions[3];
        size_t n;
        const char *want;
    } cases[] = {{0x0303, {0x0a0a, 0x0303, 0x0304}, 3, "t13"},
                 {0x0303, {0x0302, 0x0303}, 2, "t12"},
                 {0x0301, {0}, 0, "t10"},
                 {0x0302, {0}, 0, "t11"},
                 {0x0300, {0}, 0, "ts3"},
                 {0x0303, {0x7a7a}, 1, "t12"},
                 {0x0303, {0x0305}, 1, "t00"}};
    struct zoo_hello h;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        spec_example(&h);
        h.legacy_version = cases[i].legacy;
        set_list(h.versions, &h.n_versions, cases[i].versions, cases[i].n);
        ck_assert_msg(strncmp(ja4_of(&h), cases[i].want, 3) == 0, "case %zu: %s", i, ja4_of(&h));
    }
}
END_TEST

START_TEST(fingerprint_ja4_marks_missing_sni_and_caps_counts)
{
    struct zoo_hello h;

    spec_example(&h);
    h.has_sni = false;
    h.extensions[1] = 0x0031; /* server_name gone */
    ck_assert_int_eq(strncmp(ja4_of(&h), "t13i1516h2_", 11), 0);
    for (h.n_suites = 0; h.n_suites < 120; h.n_suites++) {
        h.suites[h.n_suites] = (uint16_t)(0x0100 + h.n_suites);
    }
    ck_assert_int_eq(strncmp(ja4_of(&h), "t13i9916h2_", 11), 0);
}
END_TEST

START_TEST(fingerprint_ja3_drops_grease)
{
    struct zoo_hello h;
    char str[ZOO_JA3_MAX], md5[33];

    memset(&h, 0, sizeof(h));
    h.legacy_version = 0x0301;
    set_list(h.suites, &h.n_suites, (const uint16_t[]){0x0a0a, 0x002f}, 2);
    set_list(h.extensions, &h.n_extensions, (const uint16_t[]){0x1a1a, 0x0000, 0x000a}, 3);
    set_list(h.groups, &h.n_groups, (const uint16_t[]){0x2a2a, 0x001d}, 2);
    h.n_point_formats = 1;
    ck_assert_int_eq(zoo_ja3(&h, str, sizeof(str), md5), 0);
    ck_assert_str_eq(str, "769,47,0-10,29,0");
    ck_assert_str_eq(md5, "db106155c4d83630d05807efdd2f8530");
    memset(&h, 0, sizeof(h));
    h.legacy_version = 0x0303;
    ck_assert_int_eq(zoo_ja3(&h, str, sizeof(str), md5), 0);
    ck_assert_str_eq(str, "771,,,,");
    ck_assert_str_eq(md5, "bddda940f9963577c41d7c28b1a5f65f");
}
END_TEST

START_TEST(fingerprint_rejects_small_buffers)
{
    struct zoo_hello h;
    char str[ZOO_JA3_MAX], md5[33];

    spec_example(&h);
    ck_assert_int_eq(zoo_ja3(&h, str, 20, md5), ZOO_EINVAL);
    ck_assert_int_eq(zoo_ja3(&h, str, 0, md5), ZOO_EINVAL);
    ck_assert_int_eq(zoo_ja4(&h, str, ZOO_JA4_LEN - 1), ZOO_EINVAL);
    ck_assert_int_eq(zoo_ja4_raw(&h, str, 100), ZOO_EINVAL);
}
END_TEST

/* Recorded clients. JA3 strings and MD5s as printed by TShark (Wireshark) 4.0.17 for the same
 * connections (tls.handshake.ja3_full, tls.handshake.ja3); JA4 as computed by
 * scripts/record-hellos.sh from tshark's dissection. Note the padding extension (21) of curl
 * and Python: OpenSSL pads hellos of 256-511 bytes, so it comes and goes with the SNI length. */
static const struct {
    const char *file;
    const char *ja3;
    const char *ja3_md5;
    const char *ja4;
} clients[] = {
    {"openssl-tls12",
     "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-"
     "49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-22-23-13,29-23-30-25-24,"
     "0-1-2",
     "871a754af286dfb70c1b53c6887c62e0", "t12d280700_d943125447b4_e7e480e5a997"},
    {"openssl-tls13",
     "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-"
     "49187-49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,"
     "0-11-10-35-22-23-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2",
     "a3afc2c46ba4a7d7fbe1cfb7a3031c2f", "t13d311000_e8f1e7e78f70_1f22a2ca17c4"},
    {"curl",
     "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-"
     "49187-49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,"
     "0-11-10-16-22-23-49-13-43-45-51-21,29-23-30-25-24-256-257-258-259-260,0-1-2",
     "0149f47eabf9a20d0893e2a44e5a6323", "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6"},
    {"gnutls",
     "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-49172-"
     "49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,"
     "5-10-11-13-22-23-35-51-43-65281-0-45-28,23-24-25-29-30-256-257-258-259-260,0",
     "f35ce21b44ac0b87d3266294bb1b0e20", "t13d291300_723694b0fccc_2cc26d266019"},
    {"python",
     "771,4866-4867-4865-49196-49200-49195-49199-52393-52392-49188-49192-49187-49191-159-158-"
     "107-103-255,0-11-10-35-22-23-13-43-45-51-21,29-23-30-25-24-256-257-258-259-260,0-1-2",
     "93c7d42c0df602fb91589311534831f5", "t13d181100_85036bcba153_d41ae481755e"},
};

static size_t load_fixture(const char *name, uint8_t *buf, size_t cap)
{
    char path[256];
    unsigned v;
    size_t n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "fixtures/%s.hex", name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s (run from tests/unit)", path);
    while (n < cap && fscanf(f, "%2x", &v) == 1) {
        buf[n++] = (uint8_t)v;
    }
    ck_assert_int_eq(ferror(f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return n;
}

START_TEST(fingerprint_matches_tshark_for_recorded_clients)
{
    static uint8_t buf[BUF_MAX];
    struct zoo_hello h;
    char err[160], str[ZOO_JA3_MAX], md5[33];
    size_t len = load_fixture(clients[_i].file, buf, sizeof(buf));

    ck_assert_int_eq(zoo_hello_parse(buf, len, &h, err, sizeof(err)), ZOO_HELLO_OK);
    ck_assert_int_eq(zoo_ja3(&h, str, sizeof(str), md5), 0);
    ck_assert_str_eq(str, clients[_i].ja3);
    ck_assert_str_eq(md5, clients[_i].ja3_md5);
    ck_assert_str_eq(ja4_of(&h), clients[_i].ja4);
}
END_TEST

Suite *fingerprint_suite(void)
{
    Suite *s = suite_create("fingerprint");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, fingerprint_ja4_matches_spec_example);
    tcase_add_test(tc, fingerprint_ja4_ignores_grease);
    tcase_add_test(tc, fingerprint_ja4_hashes_extensions_alone_without_sig_algs);
    tcase_add_test(tc, fingerprint_ja4_uses_zeros_for_empty_lists);
    tcase_add_test(tc, fingerprint_ja4_applies_alpn_rules);
    tcase_add_test(tc, fingerprint_ja4_takes_highest_supported_version);
    tcase_add_test(tc, fingerprint_ja4_marks_missing_sni_and_caps_counts);
    tcase_add_test(tc, fingerprint_ja3_drops_grease);
    tcase_add_test(tc, fingerprint_rejects_small_buffers);
    tcase_add_loop_test(tc, fingerprint_matches_tshark_for_recorded_clients, 0,
                        (int)(sizeof(clients) / sizeof(clients[0])));
    suite_add_tcase(s, tc);
    return s;
}
