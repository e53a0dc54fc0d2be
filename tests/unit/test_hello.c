/* ClientHello parser: real first flights recorded from openssl, curl, gnutls-cli and Python
 * (tests/unit/fixtures, made by scripts/record-hellos.sh), every prefix of them, the same
 * hellos split over many records, and malformed input with the reason each must give. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"

#define BUF_MAX (70 * 1024)

struct list {
    const uint16_t *v;
    size_t n;
};
#define LIST(...)                                                                                  \
    {                                                                                              \
        (const uint16_t[]){__VA_ARGS__},                                                           \
            sizeof((const uint16_t[]){__VA_ARGS__}) / sizeof(uint16_t)                             \
    }

struct fixture {
    const char *file;
    const char *sni;
    const char *alpn; /* protocols joined by ',', "" for none */
    size_t n_suites;
    uint16_t first_suites[3];
    size_t session_id_len;
    bool session_ticket;
    struct list extensions, groups, versions, key_shares;
    size_t n_sig_algs;
};

static const uint16_t groups_openssl[] = {0x001d, 0x0017, 0x001e, 0x0019, 0x0018,
                                          0x0100, 0x0101, 0x0102, 0x0103, 0x0104};

static const struct fixture fixtures[] = {
    {"openssl-tls12",
     "openssl-tls12.tlszoo.localhost",
     "",
     28,
     {0xc02c, 0xc030, 0x009f},
     0,
     true,
     LIST(0x0000, 0x000b, 0x000a, 0x0023, 0x0016, 0x0017, 0x000d),
     {groups_openssl, 5},
     {NULL, 0},
     {NULL, 0},
     20},
    {"openssl-tls13",
     "openssl-tls13.tlszoo.localhost",
     "",
     31,
     {0x1302, 0x1303, 0x1301},
     32,
     true,
     LIST(0x0000, 0x000b, 0x000a, 0x0023, 0x0016, 0x0017, 0x000d, 0x002b, 0x002d, 0x0033),
     {groups_openssl, 10},
     LIST(0x0304, 0x0303, 0x0302, 0x0301),
     LIST(0x001d),
     20},
    {"curl",
     "curl.tlszoo.localhost",
     "h2,http/1.1",
     31,
     {0x1302, 0x1303, 0x1301},
     32,
     false,
     LIST(0x0000, 0x000b, 0x000a, 0x0010, 0x0016, 0x0017, 0x0031, 0x000d, 0x002b, 0x002d, 0x0033,
          0x0015),
     {groups_openssl, 10},
     LIST(0x0304, 0x0303, 0x0302, 0x0301),
     LIST(0x001d),
     20},
    {"gnutls",
     "gnutls.tlszoo.localhost",
     "",
     29,
     {0x1302, 0x1303, 0x1301},
     32,
     true,
     LIST(0x0005, 0x000a, 0x000b, 0x000d, 0x0016, 0x0017, 0x0023, 0x0033, 0x002b, 0xff01, 0x0000,
          0x002d, 0x001c),
     LIST(0x0017, 0x0018, 0x0019, 0x001d, 0x001e, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104),
     LIST(0x0304, 0x0303, 0x0302, 0x0301),
     LIST(0x0017, 0x001d),
     16},
    {"python",
     "python.tlszoo.localhost",
     "",
     18,
     {0x1302, 0x1303, 0x1301},
     32,
     true,
     LIST(0x0000, 0x000b, 0x000a, 0x0023, 0x0016, 0x0017, 0x000d, 0x002b, 0x002d, 0x0033, 0x0015),
     {groups_openssl, 10},
     LIST(0x0304, 0x0303),
     LIST(0x001d),
     20},
};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned v;

    for (const char *p = hex; *p != '\0';) {
        if (*p == ' ' || *p == '\n') {
            p++;
            continue;
        }
        ck_assert_msg(n < cap && sscanf(p, "%2x", &v) == 1, "bad hex at '%.8s'", p);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

static size_t load_fixture(const char *name, uint8_t *buf, size_t cap)
{
    char path[256], *text = calloc(1, 2 * cap + 2);
    FILE *f;
    size_t n;

    ck_assert_ptr_nonnull(text);
    snprintf(path, sizeof(path), "fixtures/%s.hex", name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s (run from tests/unit)", path);
    ck_assert_uint_gt(fread(text, 1, 2 * cap + 1, f), 0);
    ck_assert_int_eq(ferror(f), 0);
    ck_assert_int_eq(fclose(f), 0);
    n = unhex(text, buf, cap);
    free(text);
    return n;
}

/* BODY as one ClientHello handshake message in one record. */
static size_t wrap(const uint8_t *body, size_t n, uint8_t *out)
{
    const uint8_t head[] = {
        22, 3, 1, (uint8_t)((n + 4) >> 8), (uint8_t)(n + 4), 1, 0, (uint8_t)(n >> 8), (uint8_t)n};

    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), body, n);
    return sizeof(head) + n;
}

/* The handshake message of the one-record hello IN again, in records of CHUNK bytes. */
static size_t resplit(const uint8_t *in, size_t chunk, uint8_t *out)
{
    size_t msg_len = (size_t)in[3] << 8 | in[4], n = 0;

    for (size_t off = 0; off < msg_len; off += chunk) {
        size_t k = msg_len - off < chunk ? msg_len - off : chunk;
        const uint8_t head[] = {22, 3, 1, (uint8_t)(k >> 8), (uint8_t)k};

        memcpy(out + n, head, sizeof(head));
        memcpy(out + n + 5, in + 5 + off, k);
        n += 5 + k;
    }
    return n;
}

static void assert_list(const char *what, const uint16_t *got, size_t n, struct list want)
{
    ck_assert_msg(n == want.n, "%s: %zu values, want %zu", what, n, want.n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(got[i] == want.v[i], "%s[%zu] = 0x%04x, want 0x%04x", what, i, got[i],
                      want.v[i]);
    }
}

static void check_fixture(const struct fixture *fx)
{
    static uint8_t buf[BUF_MAX];
    struct zoo_hello h;
    char err[160], alpn[512] = "";
    size_t len = load_fixture(fx->file, buf, sizeof(buf));

    ck_assert_int_eq(zoo_hello_parse(buf, len, &h, err, sizeof(err)), ZOO_HELLO_OK);
    ck_assert_uint_eq(h.consumed, len);
    ck_assert_uint_eq(h.n_records, 1);
    ck_assert_uint_eq(h.record_version, 0x0301);
    ck_assert_uint_eq(h.legacy_version, 0x0303);
    ck_assert(h.has_sni);
    ck_assert_str_eq(h.sni, fx->sni);
    for (size_t i = 0; i < h.n_alpn; i++) {
        strcat(alpn, i > 0 ? "," : "");
        strcat(alpn, h.alpn[i]);
    }
    ck_assert_str_eq(alpn, fx->alpn);
    ck_assert_uint_eq(h.n_suites, fx->n_suites);
    assert_list("suites", h.suites, 3, (struct list){fx->first_suites, 3});
    ck_assert_uint_eq(h.n_compressions, 1);
    ck_assert_uint_eq(h.compressions[0], 0);
    ck_assert_uint_eq(h.session_id_len, fx->session_id_len);
    ck_assert(h.session_ticket == fx->session_ticket);
    ck_assert_uint_eq(h.session_ticket_len, 0);
    ck_assert(!h.psk);
    assert_list("extensions", h.extensions, h.n_extensions, fx->extensions);
    assert_list("groups", h.groups, h.n_groups, fx->groups);
    assert_list("versions", h.versions, h.n_versions, fx->versions);
    assert_list("key_shares", h.key_shares, h.n_key_shares, fx->key_shares);
    ck_assert_uint_eq(h.n_sig_algs, fx->n_sig_algs);
    ck_assert_uint_eq(h.sig_algs[0], fx->file[0] == 'g' ? 0x0401 : 0x0403);
}

START_TEST(hello_parses_openssl_tls12)
{
    check_fixture(&fixtures[0]);
}
END_TEST

START_TEST(hello_parses_openssl_tls13)
{
    check_fixture(&fixtures[1]);
}
END_TEST

START_TEST(hello_parses_curl_tls13)
{
    check_fixture(&fixtures[2]);
}
END_TEST

START_TEST(hello_parses_gnutls_tls13)
{
    check_fixture(&fixtures[3]);
}
END_TEST

START_TEST(hello_parses_python_tls13)
{
    check_fixture(&fixtures[4]);
}
END_TEST

START_TEST(hello_needs_more_for_every_prefix)
{
    static uint8_t buf[BUF_MAX], split[BUF_MAX];
    const struct fixture *fx = &fixtures[_i];
    struct zoo_hello h;
    char err[160];
    size_t len = load_fixture(fx->file, buf, sizeof(buf));
    size_t split_len = resplit(buf, 7, split);

    for (size_t k = 0; k < len; k++) {
        ck_assert_msg(zoo_hello_parse(buf, k, &h, err, sizeof(err)) == ZOO_HELLO_NEED_MORE,
                      "%s: prefix of %zu bytes: %s", fx->file, k, err);
    }
    for (size_t k = 0; k < split_len; k++) {
        ck_assert_msg(zoo_hello_parse(split, k, &h, err, sizeof(err)) == ZOO_HELLO_NEED_MORE,
                      "%s in 7-byte records: prefix of %zu bytes: %s", fx->file, k, err);
    }
}
END_TEST

START_TEST(hello_parses_split_records_identically)
{
    static const size_t chunks[] = {1, 2, 3, 4, 5, 37, 100, 16384};
    static uint8_t buf[BUF_MAX], split[BUF_MAX];
    const struct fixture *fx = &fixtures[_i];
    struct zoo_hello whole, part;
    char err[160];
    size_t len = load_fixture(fx->file, buf, sizeof(buf));

    ck_assert_int_eq(zoo_hello_parse(buf, len, &whole, err, sizeof(err)), ZOO_HELLO_OK);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        size_t n = resplit(buf, chunks[i], split);

        ck_assert_msg(zoo_hello_parse(split, n, &part, err, sizeof(err)) == ZOO_HELLO_OK,
                      "%s in %zu-byte records: %s", fx->file, chunks[i], err);
        ck_assert_uint_eq(part.consumed, n);
        ck_assert_uint_eq(part.n_records, (len - 5 + chunks[i] - 1) / chunks[i]);
        part.consumed = whole.consumed;
        part.n_records = whole.n_records;
        ck_assert_msg(memcmp(&part, &whole, sizeof(part)) == 0, "%s in %zu-byte records differs",
                      fx->file, chunks[i]);
    }
}
END_TEST

START_TEST(hello_ignores_bytes_after_the_hello)
{
    static uint8_t buf[BUF_MAX];
    static const uint8_t after[] = {20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 3, 'a', 'b', 'c'};
    struct zoo_hello h;
    char err[160];
    size_t len = load_fixture("openssl-tls13", buf, sizeof(buf));

    memcpy(buf + len, after, sizeof(after));
    ck_assert_int_eq(zoo_hello_parse(buf, len + sizeof(after), &h, err, sizeof(err)), ZOO_HELLO_OK);
    ck_assert_uint_eq(h.consumed, len);
    /* the same with a torn record after the hello */
    ck_assert_int_eq(zoo_hello_parse(buf, len + 3, &h, err, sizeof(err)), ZOO_HELLO_OK);
    ck_assert_uint_eq(h.consumed, len);
}
END_TEST

START_TEST(hello_waits_for_the_rest_of_its_last_record)
{
    static uint8_t buf[BUF_MAX];
    struct zoo_hello h;
    char err[160];
    size_t len = load_fixture("curl", buf, sizeof(buf));

    buf[4]++; /* the record holds one byte more than the hello */
    buf[len] = 0x42;
    ck_assert_int_eq(zoo_hello_parse(buf, len, &h, err, sizeof(err)), ZOO_HELLO_NEED_MORE);
    ck_assert_str_eq(err, "truncated record");
    ck_assert_int_eq(zoo_hello_parse(buf, len + 1, &h, err, sizeof(err)), ZOO_HELLO_OK);
    ck_assert_uint_eq(h.consumed, len + 1);
    ck_assert_str_eq(h.sni, "curl.tlszoo.localhost");
}
END_TEST

START_TEST(hello_recognises_grease)
{
    for (unsigned i = 0; i < 16; i++) {
        ck_assert(zoo_hello_is_grease((uint16_t)(i << 12 | 0x0a00 | i << 4 | 0x0a)));
    }
    ck_assert(!zoo_hello_is_grease(0x0a1a));
    ck_assert(!zoo_hello_is_grease(0x1301));
    ck_assert(!zoo_hello_is_grease(0x0000));
    ck_assert(!zoo_hello_is_grease(0xaaab));
}
END_TEST

/* Malformed input. BODY cases are wrapped into one record and one handshake header with
 * correct lengths, so the fault is only the one the case describes; RAW cases are sent as is. */
#define R32 "0000000000000000000000000000000000000000000000000000000000000000"
#define HEAD "0303" R32 "00" /* client_version, random, empty session_id */
#define BASE                                                                                       \
    HEAD "0002 1301"                                                                               \
         "01 00" /* + one suite, null compression: 41 bytes */

struct bad {
    bool raw;
    const char *hex;
    int rc;
    const char *reason;
};

static const struct bad bad[] = {
    /* record layer */
    {true, "15 0303 0002 0228", -1, "not a TLS handshake record (type 21)"},
    {true, "802e 01 0301 0015 0000 0010", -1, "SSLv2-style hello"},
    {true, "474554202f20485454502f312e310d0a", -1, "HTTP request on a TLS port"},
    {true, "16 0301 4e20 01", -1, "record length 20000 exceeds 16384"},
    {true, "16 0301 0000", -1, "zero-length handshake record"},
    {true, "16 0200 0004", -1, "record version 0x02.. is not 0x03xx"},
    {true, "16 0301 0002 0100 15 0303 0002 0228", -1,
     "ClientHello interrupted by a record (type 21)"},
    {true, "16 0301 0004 01000029 0303" R32, -1, "ClientHello interrupted by a record (type 3)"},
    {true, "16 03", 1, "truncated record header"},
    {true, "16 0301 0002 0100", 1, "truncated handshake header"},
    {true, "16 0301 002d 010000ff" BASE, 1, "truncated ClientHello"},
    {true, "16 0301 0100 01000029" BASE, 1, "truncated record"},
    /* a fault shows before the rest of a long hello arrives */
    {true, "16 0301 0027 010000ff 0303" R32 "21", -1, "session_id length 33 exceeds 32"},
    /* handshake header */
    {true, "16 0303 0004 02000000", -1, "handshake type 2 is not ClientHello (1)"},
    {true, "16 0301 0004 01ffffff", -1, "handshake length 16777215 exceeds 65536"},
    /* ClientHello fields */
    {false, "03", -1, "truncated client_version"},
    {false, "0200", -1, "client_version 0x0200 is not 0x03xx"},
    {false, "0303 0000", -1, "truncated random"},
    {false, "0303" R32, -1, "truncated session_id"},
    {false, "0303" R32 "20 0000", -1, "truncated session_id"},
    {false, "0303" R32 "21", -1, "session_id length 33 exceeds 32"},
    {false, HEAD "00", -1, "truncated cipher suites"},
    {false, HEAD "0010 1301", -1, "truncated cipher suites"},
    {false, HEAD "0003 130113", -1, "odd cipher suites length 3"},
    {false, HEAD "0000 0100", -1, "empty cipher suites"},
    {false, HEAD "0002 1301", -1, "truncated compression methods"},
    {false, HEAD "0002 1301 05 00", -1, "truncated compression methods"},
    {false, HEAD "0002 1301 00", -1, "empty compression methods"},
    {false, BASE "00", -1, "truncated extensions"},
    {false, BASE "0010 000a", -1, "truncated extensions"},
    {false, BASE "0000 ff", -1, "trailing bytes after the extensions"},
    /* extensions */
    {false, BASE "0003 000a00", -1, "extension header overruns the extensions block"},
    {false, BASE "0008 0000 0032 00000000", -1, "extension 0x0000 overruns the extensions block"},
    {false, BASE "0010 000a00040002001d 000a00040002001d", -1, "duplicate extension 0x000a"},
    {false, BASE "0009 0000 0005 0010 00 0001", -1,
     "server_name list overruns the server_name extension"},
    {false, BASE "000a 0000 0006 0004 00 0010 61", -1, "host_name overruns the server_name list"},
    {false, BASE "000b 0000 0007 0005 00 0002 6101", -1, "non-printable byte 0x01 in host_name"},
    {false, BASE "0009 0000 0005 0003 00 0000", -1, "host_name length 0 not in 1..255"},
    {false, BASE "000e 0000 000a 0008 00 0001 61 00 0001 62", -1, "more than one host_name"},
    {false, BASE "0009 000a 0005 0003 001d00", -1, "odd supported_groups list length 3"},
    {false, BASE "000a 000a 0006 0002 001d 0000", -1,
     "2 trailing bytes in the supported_groups extension"},
    {false, BASE "0007 002b 0003 04 0304", -1,
     "supported_versions list overruns the supported_versions extension"},
    {false, BASE "000c 0033 0008 0006 001d 0020 0000", -1,
     "key_exchange overruns the key_share list"},
    {false, BASE "0007 0010 0003 0001 00", -1, "empty ALPN protocol name"},
    {false, BASE "0005 000d 0001 00", -1,
     "signature_algorithms list overruns the signature_algorithms extension"},
};

START_TEST(hello_rejects_malformed_input)
{
    static uint8_t body[BUF_MAX], buf[BUF_MAX];
    const struct bad *b = &bad[_i];
    struct zoo_hello h;
    char err[160];
    size_t n = unhex(b->hex, b->raw ? buf : body, BUF_MAX);

    if (!b->raw) {
        n = wrap(body, n, buf);
    }
    ck_assert_msg(zoo_hello_parse(buf, n, &h, err, sizeof(err)) == b->rc, "case %d (%s): %s", _i,
                  b->reason, err);
    ck_assert_msg(strncmp(err, b->reason, strlen(b->reason)) == 0, "case %d: '%s', want '%s'", _i,
                  err, b->reason);
}
END_TEST

START_TEST(hello_rejects_too_many_cipher_suites)
{
    static uint8_t body[BUF_MAX], buf[BUF_MAX];
    size_t n = unhex(HEAD, body, sizeof(body)), count = ZOO_HELLO_MAX_SUITES + 1;
    struct zoo_hello h;
    char err[160];

    body[n++] = (uint8_t)(count * 2 >> 8);
    body[n++] = (uint8_t)(count * 2);
    for (size_t i = 0; i < count; i++) {
        body[n++] = 0x00;
        body[n++] = (uint8_t)i;
    }
    n += unhex("0100", body + n, 2);
    n = wrap(body, n, buf);
    ck_assert_int_eq(zoo_hello_parse(buf, n, &h, err, sizeof(err)), ZOO_HELLO_ERROR);
    ck_assert_str_eq(err, "too many cipher suites (513, at most 512)");
}
END_TEST

START_TEST(hello_rejects_host_name_over_255_bytes)
{
    static uint8_t body[BUF_MAX], buf[BUF_MAX];
    size_t n = unhex(BASE, body, sizeof(body)), name = 256;
    struct zoo_hello h;
    char err[160];
    const uint8_t head[] = {
        (name + 9) >> 8, (uint8_t)(name + 9), 0, 0,         (name + 5) >> 8, (uint8_t)(name + 5),
        (name + 3) >> 8, (uint8_t)(name + 3), 0, name >> 8, (uint8_t)name};

    /* extensions length, then server_name: type, length, list length, host_name type, length */
    memcpy(body + n, head, sizeof(head));
    n += sizeof(head);
    memset(body + n, 'a', name);
    n = wrap(body, n + name, buf);
    ck_assert_int_eq(zoo_hello_parse(buf, n, &h, err, sizeof(err)), ZOO_HELLO_ERROR);
    ck_assert_str_eq(err, "host_name length 256 not in 1..255");
}
END_TEST

static void hello_add_malformed_tests(TCase *tc)
{
    tcase_add_loop_test(tc, hello_rejects_malformed_input, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, hello_rejects_too_many_cipher_suites);
    tcase_add_test(tc, hello_rejects_host_name_over_255_bytes);
}

Suite *hello_suite(void)
{
    Suite *s = suite_create("hello");
    TCase *tc = tcase_create("core");
    size_t nfx = sizeof(fixtures) / sizeof(fixtures[0]);

    tcase_add_test(tc, hello_parses_openssl_tls12);
    tcase_add_test(tc, hello_parses_openssl_tls13);
    tcase_add_test(tc, hello_parses_curl_tls13);
    tcase_add_test(tc, hello_parses_gnutls_tls13);
    tcase_add_test(tc, hello_parses_python_tls13);
    tcase_add_loop_test(tc, hello_needs_more_for_every_prefix, 0, (int)nfx);
    tcase_add_loop_test(tc, hello_parses_split_records_identically, 0, (int)nfx);
    tcase_add_test(tc, hello_ignores_bytes_after_the_hello);
    tcase_add_test(tc, hello_waits_for_the_rest_of_its_last_record);
    tcase_add_test(tc, hello_recognises_grease);
    hello_add_malformed_tests(tc);
    suite_add_tcase(s, tc);
    return s;
}
