/* libFuzzer target for the ClientHello parser, the first code every client's bytes reach.
 * Each input is a first flight: it is parsed, and on success fingerprinted (JA3, JA4, JA4_r)
 * and written out as an event, which must read back as JSON naming the same SNI and ALPN;
 * the same bytes also go through the record scanner in small pieces. Beyond the sanitizers,
 * the contracts of hello.h, fingerprint.h and events.h are checked; a broken one aborts. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fingerprint.h"
#include "hello.h"
#include "record.h"
#include "report.h"
#include "scenario.h"

#define check(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_hello: contract broken: %s (line %d)\n", #cond, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Parses LEN bytes from an exact-size heap copy, so any read past LEN is an ASan error. */
static int parse_copy(const uint8_t *data, size_t len, struct zoo_hello *h, char *err,
                      size_t errlen)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    check(copy != NULL);
    memcpy(copy, data, len);
    rc = zoo_hello_parse(copy, len, h, err, errlen);
    free(copy);
    return rc;
}

static void check_hello(const struct zoo_hello *h, size_t len)
{
    check(h->consumed >= 5 && h->consumed <= len);
    check(h->n_records >= 1);
    check(h->session_id_len <= 32);
    check(h->n_versions <= ZOO_HELLO_MAX_VERSIONS);
    check(h->n_suites >= 1 && h->n_suites <= ZOO_HELLO_MAX_SUITES);
    check(h->n_compressions >= 1 && h->n_compressions <= ZOO_HELLO_MAX_COMPRESSIONS);
    check(h->n_extensions <= ZOO_HELLO_MAX_EXTENSIONS);
    check(h->n_alpn <= ZOO_HELLO_MAX_ALPN);
    check(h->n_groups <= ZOO_HELLO_MAX_GROUPS);
    check(h->n_point_formats <= ZOO_HELLO_MAX_POINT_FORMATS);
    check(h->n_sig_algs <= ZOO_HELLO_MAX_SIG_ALGS);
    check(h->n_key_shares <= ZOO_HELLO_MAX_KEY_SHARES);
    check((h->legacy_version >> 8) == 3);
    if (h->has_sni) {
        size_t n = strnlen(h->sni, sizeof(h->sni));
        check(n >= 1 && n <= 255);
        for (size_t i = 0; i < n; i++) {
            check(h->sni[i] > 0x20 && h->sni[i] < 0x7f);
        }
    }
    for (size_t i = 0; i < h->n_alpn; i++) {
        check(h->alpn_len[i] >= 1 && h->alpn_len[i] <= ZOO_HELLO_MAX_ALPN_LEN);
        check(h->alpn[i][h->alpn_len[i]] == '\0');
    }
    for (size_t i = 0; i < h->n_extensions; i++) {
        for (size_t j = 0; j < i; j++) {
            check(h->extensions[i] != h->extensions[j]);
        }
    }
}

static void check_fingerprints(const struct zoo_hello *h)
{
    /* The shortest JA3 is "768,,,," (all GREASE): 8 bytes with its NUL; TINY is one less. */
    char ja3[ZOO_JA3_MAX], md5[33], ja4[ZOO_JA4_LEN], raw[ZOO_JA4_RAW_MAX], tiny[7];

    check(zoo_ja3(h, ja3, sizeof(ja3), md5) == 0); /* "ZOO_JA3_MAX always fits" */
    check(strlen(ja3) < sizeof(ja3) && strlen(md5) == 32);
    check(zoo_ja4(h, ja4, sizeof(ja4)) == 0);
    check(strlen(ja4) == ZOO_JA4_LEN - 1 && ja4[10] == '_' && ja4[23] == '_');
    check(zoo_ja4_raw(h, raw, sizeof(raw)) == 0); /* "ZOO_JA4_RAW_MAX always fits" */
    check(strncmp(raw, ja4, 10) == 0);
    /* Too small a buffer is an error, never an overflow. */
    check(zoo_ja3(h, tiny, sizeof(tiny), md5) != 0);
    check(zoo_ja4(h, tiny, sizeof(tiny)) != 0);
    check(zoo_ja4_raw(h, tiny, sizeof(tiny)) != 0);
}

/* The record scanner sees the same stream in pieces of 1..7 bytes. */
static void scan_records(const uint8_t *data, size_t len)
{
    struct zoo_record_scan scan = {0};
    size_t off = 0, step = 1 + (len ? data[0] % 7 : 0);

    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        zoo_record_scan_feed(&scan, data + off, n);
        off += n;
    }
    check(scan.header_len < 5 && (scan.broken || scan.left <= scan.body_len));
}

/* The event for a connection that sent H must be one line of JSON that jansson reads back
 * with its default flags (as `tlszoo events` does), in which the client's own strings come
 * back intact: SNI as sent, each ALPN name as sent or else as "0x" and its hex (events.c).
 * RESULT and ALERT (taken from the input) vary the outcome and verdict parts. */
static void check_event(const struct zoo_hello *h, unsigned result, int alert)
{
    struct zoo_scenario s;
    struct zoo_report r = {.scenario = &s,
                           .hello = h,
                           .result = (enum zoo_result)(result % 8),
                           .alert_code = alert,
                           .stage = (enum zoo_stage)(result % 3)};
    struct zoo_events *ev;
    char *text = NULL, want[2 * ZOO_HELLO_MAX_ALPN_LEN + 3], ja4[ZOO_JA4_LEN];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    json_t *e, *hello, *alpn;
    json_error_t jerr;

    check(out != NULL);
    zoo_scenario_init(&s);
    s.name = "fuzz";
    s.expect.outcome = result & 8 ? ZOO_OUTCOME_REJECT : ZOO_OUTCOME_ACCEPT;
    s.expect.alert = result & 16 ? "certificate_expired" : NULL;
    strcpy(r.peer, "127.0.0.1:1");
    check((ev = zoo_events_new(out, 1)) != NULL);
    check(zoo_events_emit(ev, &r) == 1);
    zoo_events_free(ev);
    fclose(out);
    check(len > 0 && text[len - 1] == '\n' && memchr(text, '\n', len) == text + len - 1);
    if ((e = json_loadb(text, len, 0, &jerr)) == NULL) {
        fprintf(stderr, "fuzz_hello: the event does not read back as JSON (%s, at byte %d):\n%s",
                jerr.text, jerr.position, text);
        abort();
    }
    hello = json_object_get(e, "client_hello");
    check(json_is_object(hello));
    check(h->has_sni ? strcmp(json_string_value(json_object_get(hello, "sni")), h->sni) == 0
                     : json_is_null(json_object_get(hello, "sni")));
    alpn = json_object_get(hello, "alpn");
    check(json_array_size(alpn) == h->n_alpn);
    for (size_t i = 0; i < h->n_alpn; i++) {
        json_t *name = json_array_get(alpn, i);
        bool same = json_string_length(name) == h->alpn_len[i] &&
                    memcmp(json_string_value(name), h->alpn[i], h->alpn_len[i]) == 0;
        strcpy(want, "0x");
        for (size_t j = 0; j < h->alpn_len[i]; j++) {
            snprintf(want + 2 + 2 * j, 3, "%02x", (unsigned char)h->alpn[i][j]);
        }
        check(same || strcmp(json_string_value(name), want) == 0);
    }
    check(zoo_ja4(h, ja4, sizeof(ja4)) == 0);
    check(strcmp(json_string_value(json_object_get(hello, "ja4")), ja4) == 0);
    json_decref(e);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct zoo_hello h, prefix; /* large; keep them off the stack */
    char err[160], perr[160];
    int rc;

    memset(err, 'x', sizeof(err));
    rc = zoo_hello_parse(data, size, &h, err, sizeof(err));
    check(rc == ZOO_HELLO_OK || rc == ZOO_HELLO_NEED_MORE || rc == ZOO_HELLO_ERROR);
    check(memchr(err, '\0', sizeof(err)) != NULL);
    check(rc == ZOO_HELLO_OK || err[0] != '\0'); /* a failure always says why */
    scan_records(data, size);
    if (rc != ZOO_HELLO_OK) {
        return 0;
    }
    check_hello(&h, size);
    check_fingerprints(&h);
    check_event(&h, data[size - 1], data[size - 2]);
    /* hello.h: a prefix of a valid hello is NEED_MORE, never an error (a slow client must
     * not read as malformed), and the bytes after the hello do not matter. */
    for (size_t cut = 0; cut < h.consumed; cut += 1 + h.consumed / 16) {
        check(parse_copy(data, cut, &prefix, perr, sizeof(perr)) == ZOO_HELLO_NEED_MORE);
    }
    check(parse_copy(data, h.consumed - 1, &prefix, perr, sizeof(perr)) == ZOO_HELLO_NEED_MORE);
    check(parse_copy(data, h.consumed, &prefix, perr, sizeof(perr)) == ZOO_HELLO_OK);
    check(prefix.n_suites == h.n_suites && prefix.n_extensions == h.n_extensions &&
          prefix.consumed == h.consumed);
    return 0;
}
