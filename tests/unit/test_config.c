/* Scenario loading: defaults, and every kind of bad file reported at its
 * exact line and column. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "error.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tlszoo-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes TEXT to DIR/NAME and returns the path (static buffer). */
static const char *write_yaml(const char *name, const char *text)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads TEXT as one file and asserts the error output is exactly
 * "PATH:" followed by EXPECTED. */
static void assert_rejected(const char *text, const char *expected)
{
    struct zoo_scenario s;
    char err[2048], want[2048];
    const char *path = write_yaml("bad.yaml", text);

    ck_assert_int_eq(zoo_config_load_file(path, &s, err, sizeof(err)), ZOO_EINVAL);
    snprintf(want, sizeof(want), "%s:%s\n", path, expected);
    ck_assert_str_eq(err, want);
    zoo_scenario_cleanup(&s);
}

START_TEST(config_fills_defaults)
{
    struct zoo_scenario s;
    char err[256];
    const char *path = write_yaml("plain.yaml", "listen: 9999\n");

    ck_assert_int_eq(zoo_config_load_file(path, &s, err, sizeof(err)), 0);
    ck_assert_str_eq(s.name, "plain");
    ck_assert_str_eq(s.host, "plain.tlszoo.localhost");
    ck_assert_int_eq(s.port, 9999);
    ck_assert_ptr_null(s.bind);
    ck_assert_uint_eq(s.versions, ZOO_TLS12 | ZOO_TLS13);
    ck_assert_int_eq(s.cert.key, ZOO_KEY_ECDSA_P256);
    ck_assert_int_eq(s.cert.issuer, ZOO_ISSUER_INTERMEDIATE);
    ck_assert_int_eq(s.chain, ZOO_CHAIN_FULL);
    ck_assert_int_eq(s.client_auth, ZOO_CLIENT_AUTH_NONE);
    ck_assert(!s.sni_require);
    ck_assert_int_eq(s.expect.outcome, ZOO_OUTCOME_ACCEPT);
    ck_assert(s.cert.not_before.relative && s.cert.not_before.value < 0);
    ck_assert(s.cert.not_after.relative && s.cert.not_after.value > 0);
    zoo_scenario_cleanup(&s);
}
END_TEST

START_TEST(config_reads_every_key)
{
    struct zoo_scenario s;
    char err[256];
    const char *path =
        write_yaml("full.yaml",
                   "name: full\nsummary: all keys\nhost: a.example\nlisten: \"[::1]:9500\"\n"
                   "tls:\n  versions: [tls1.0, tls1.1]\n  ciphers: AES128-SHA\n"
                   "  groups: [x25519, secp256r1]\n"
                   "certificate:\n  key: rsa2048\n  issuer: self\n  names: [a.example, 10.0.0.1]\n"
                   "  not_before: -400d\n  not_after: 2030-01-01T00:00:00Z\n  signature: sha1\n"
                   "chain: leaf\nsni:\n  require: true\nclient_auth: optional\n"
                   "expect:\n  outcome: reject\n  alert: unknown_ca\n  errors:\n    curl: boom\n"
                   "explain:\n  fixed_by: client\n  what: w\n  diagnose: d\n  fix: f\n");

    ck_assert_int_eq(zoo_config_load_file(path, &s, err, sizeof(err)), 0);
    ck_assert_str_eq(s.host, "a.example");
    ck_assert_str_eq(s.bind, "::1");
    ck_assert_int_eq(s.port, 9500);
    ck_assert_uint_eq(s.versions, ZOO_TLS10 | ZOO_TLS11);
    ck_assert_str_eq(s.ciphers, "AES128-SHA");
    ck_assert_str_eq(s.groups, "x25519:secp256r1");
    ck_assert_int_eq(s.cert.key, ZOO_KEY_RSA2048);
    ck_assert_int_eq(s.cert.issuer, ZOO_ISSUER_SELF);
    ck_assert_uint_eq(s.cert.n_names, 2);
    ck_assert_str_eq(s.cert.names[1], "10.0.0.1");
    ck_assert(!s.cert.not_after.relative);
    ck_assert_int_eq(s.cert.not_after.value, 1893456000);
    ck_assert_int_eq(s.cert.signature, ZOO_SIG_SHA1);
    ck_assert_int_eq(s.chain, ZOO_CHAIN_LEAF);
    ck_assert(s.sni_require);
    ck_assert_int_eq(s.client_auth, ZOO_CLIENT_AUTH_OPTIONAL);
    ck_assert_int_eq(s.expect.outcome, ZOO_OUTCOME_REJECT);
    ck_assert_str_eq(s.expect.alert, "unknown_ca");
    ck_assert_str_eq(s.expect.errors[ZOO_CLIENT_CURL], "boom");
    ck_assert_str_eq(s.explain.fix, "f");
    zoo_scenario_cleanup(&s);
}
END_TEST

/* Malformed files and the exact message each gets ("line:column: ..."). */
static const struct {
    const char *yaml;
    const char *message;
} malformed[] = {
    {"listne: 9400\n", "1:1: unknown key 'listne' in the scenario (did you mean 'listen'?)"},
    {"listen: 1\ncertificate:\n  not_afterr: 1d\n",
     "3:3: unknown key 'not_afterr' in certificate (did you mean 'not_after'?)"},
    {"listen: 1\nfrobnicate: yes\n", "2:1: unknown key 'frobnicate' in the scenario"},
    {"name: [a, b]\n", "1:7: name must be a single value, not a list"},
    {"listen: 1\ntls: strict\n", "2:6: tls must be a mapping of keys"},
    {"listen: 1\ncertificate:\n  not_after: 30x\n",
     "3:14: certificate.not_after: bad duration '30x' (expected a number and a unit s, m, h or "
     "d)"},
    {"listen: 1\ncertificate:\n  not_before: 2030-13-01T00:00:00Z\n",
     "3:15: certificate.not_before: bad date '2030-13-01T00:00:00Z' (expected RFC 3339, e.g. "
     "2030-01-31T12:00:00Z)"},
    {"listen: 1\ntls:\n  versions: [tls1.2, tls1.4]\n",
     "3:22: unknown TLS version 'tls1.4' (expected one of: tls1.0, tls1.1, tls1.2, tls1.3)"},
    {"listen: 70000\n", "1:9: bad listen '70000' (expected a port 1-65535 or \"address:port\")"},
    {"listen: \"localhost:https\"\n",
     "1:9: bad listen 'localhost:https' (expected a port 1-65535 or \"address:port\")"},
    {"listen: 1\ncertificate:\n  key: rsa512\n",
     "3:8: unknown key type 'rsa512' (expected one of: ecdsa-p256, ecdsa-p384, ed25519, "
     "rsa1024, rsa2048, rsa3072, rsa4096, rsa8192)"},
    {"listen: 1\nexpect:\n  alert: cert_expired\n",
     "3:10: unknown alert 'cert_expired' (use the RFC 8446 name, e.g. certificate_expired)"},
    {"name: Bad_Name\nlisten: 1\n", "1:7: name 'Bad_Name' may only contain a-z, 0-9 and '-'"},
    {"", "1:1: empty scenario file (expected at least 'listen')"},
    {"listen: 1\ncertificate:\n  not_before: 1d\n  not_after: -1d\n",
     "1:1: certificate.not_before must be earlier than certificate.not_after"},
    {"listen: [1\n", "2:1: YAML syntax error: did not find expected ',' or ']' while parsing a "
                     "flow sequence"},
    {"listen: 1\nsni:\n  require: maybe\n",
     "3:12: unknown value for sni.require 'maybe' (expected one of: false, true)"},
    {"listen: 1\nexpect:\n  errors:\n    lynx: nope\n",
     "4:5: unknown client in expect.errors 'lynx' (expected one of: openssl, curl, gnutls, "
     "python, chrome, firefox)"},
    {"listen: 1\nclient_auth: maybe\n",
     "2:14: unknown client_auth 'maybe' (expected one of: none, optional, required)"},
    {"listen: 1\ntls:\n  versions: []\n", "3:13: tls.versions must not be empty"},
    {"listen: 1\ntls:\n  groups: [x25519, brainpool]\n",
     "3:20: unknown group 'brainpool' (expected one of: x25519, x448, secp256r1, secp384r1, "
     "secp521r1, ffdhe2048, ffdhe3072)"},
    {"listen: 1\nhost: Not A Host\n", "2:7: host 'Not A Host' is not a DNS name in lower case"},
};

START_TEST(config_rejects_malformed_file)
{
    assert_rejected(malformed[_i].yaml, malformed[_i].message);
}
END_TEST

START_TEST(config_rejects_missing_certificate_file)
{
    char want[512];
    struct zoo_scenario s;
    char err[1024];
    const char *path =
        write_yaml("byo.yaml", "listen: 1\ncertificate:\n  file: nope.pem\n  key_file: nope.key\n");

    ck_assert_int_eq(zoo_config_load_file(path, &s, err, sizeof(err)), ZOO_EINVAL);
    snprintf(want, sizeof(want),
             "%s:3:9: certificate.file 'nope.pem' not found (paths are relative to the scenario "
             "file)\n%s:4:13: certificate.key_file 'nope.key' not found (paths are relative to the "
             "scenario file)\n",
             path, path);
    ck_assert_str_eq(err, want);
    zoo_scenario_cleanup(&s);
}
END_TEST

START_TEST(config_reports_every_problem_at_once)
{
    struct zoo_scenario s;
    char err[1024];
    const char *path = write_yaml("many.yaml", "listne: 1\nchain: loop\n");

    ck_assert_int_eq(zoo_config_load_file(path, &s, err, sizeof(err)), ZOO_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "many.yaml:1:1: unknown key 'listne'"));
    ck_assert_ptr_nonnull(strstr(err, "many.yaml:2:8: unknown chain 'loop'"));
    zoo_scenario_cleanup(&s);
}
END_TEST

START_TEST(config_rejects_duplicate_name_and_port)
{
    struct zoo_catalog c;
    char err[1024], want[1024];

    write_yaml("a.yaml", "name: same\nlisten: 9000\n");
    write_yaml("b.yaml", "name: same\nlisten: 9000\n");
    ck_assert_int_eq(zoo_config_load(dir, &c, err, sizeof(err)), ZOO_EINVAL);
    snprintf(want, sizeof(want),
             "%s/b.yaml:1:1: duplicate scenario name 'same' (also in %s/a.yaml)\n"
             "%s/b.yaml:2:9: port 9000 is already used by scenario 'same' (%s/a.yaml)\n",
             dir, dir, dir, dir);
    ck_assert_str_eq(err, want);
    ck_assert_uint_eq(c.count, 0);
}
END_TEST

START_TEST(config_rejects_empty_directory)
{
    struct zoo_catalog c;
    char err[512], want[512];

    ck_assert_int_eq(zoo_config_load(dir, &c, err, sizeof(err)), ZOO_EINVAL);
    snprintf(want, sizeof(want), "%s: no scenario files (*.yaml) found\n", dir);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(catalog_rejects_unknown_cipher)
{
    struct zoo_catalog c;
    char err[512], want[512];
    const char *path =
        write_yaml("c.yaml", "listen: 1\ntls:\n  ciphers: \"AES128-SHA:NOPE-SHA\"\n");

    ck_assert_int_eq(zoo_catalog_load(path, 0, &c, err, sizeof(err)), ZOO_EINVAL);
    snprintf(want, sizeof(want),
             "%s:3:12: unknown cipher suite 'NOPE-SHA' (OpenSSL-style names, e.g. "
             "ECDHE-ECDSA-AES128-GCM-SHA256)\n",
             path);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(catalog_moves_ports_by_offset)
{
    struct zoo_catalog c;
    char err[512];

    write_yaml("a.yaml", "listen: 9000\n");
    ck_assert_int_eq(zoo_catalog_load(dir, 100, &c, err, sizeof(err)), 0);
    ck_assert_int_eq(c.items[0].port, 9100);
    zoo_catalog_cleanup(&c);
    ck_assert_int_eq(zoo_catalog_load(dir, 60000, &c, err, sizeof(err)), ZOO_EINVAL);
    ck_assert_ptr_nonnull(
        strstr(err, "a.yaml:1:9: port 9000 moved by --port-offset 60000 is out of range"));
}
END_TEST

START_TEST(config_loads_the_shipped_catalog)
{
    struct zoo_catalog c;
    char err[4096];

    ck_assert_msg(zoo_catalog_load("../../scenarios", 0, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_ge(c.count, 11);
    ck_assert_ptr_nonnull(zoo_catalog_find(&c, "valid"));
    ck_assert_ptr_null(zoo_catalog_find(&c, "no-such-scenario"));
    zoo_catalog_cleanup(&c);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_add_test(tc, config_fills_defaults);
    tcase_add_test(tc, config_reads_every_key);
    tcase_add_loop_test(tc, config_rejects_malformed_file, 0,
                        sizeof(malformed) / sizeof(malformed[0]));
    tcase_add_test(tc, config_rejects_missing_certificate_file);
    tcase_add_test(tc, config_reports_every_problem_at_once);
    tcase_add_test(tc, config_rejects_duplicate_name_and_port);
    tcase_add_test(tc, config_rejects_empty_directory);
    tcase_add_test(tc, catalog_rejects_unknown_cipher);
    tcase_add_test(tc, catalog_moves_ports_by_offset);
    tcase_add_test(tc, config_loads_the_shipped_catalog);
    suite_add_tcase(s, tc);
    return s;
}
