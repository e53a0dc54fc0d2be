/* The event log. Events are built with jansson so that client-controlled
 * strings (SNI, ALPN) are escaped; each is serialised once, written as one
 * line and kept as that line in a fixed-size ring (a few KiB each, where
 * the object tree would take several times more); the rare API reads parse
 * the lines they return. */
#include "events.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "fingerprint.h"
#include "hello.h"
#include "verdict.h"

#define ZOO_VERDICT_LAST 5

struct counts {
    char *name;
    json_int_t pass, fail, suspect;
    char *last[ZOO_VERDICT_LAST]; /* lines of the newest events, oldest first */
};

/* One kept event: its line and what queries filter on. */
struct entry {
    uint64_t id;
    const char *scenario; /* a counts name: lives as long as the log */
    char peer[64];
    char *line;
};

struct zoo_events {
    pthread_mutex_t lock; /* workers emit, the control API reads */
    FILE *out;
    struct entry *ring;
    size_t size, head; /* head: slot of the next event */
    uint64_t next_id;
    struct counts *counts;
    size_t n_counts;
};

struct zoo_events *zoo_events_new(FILE *out, size_t ring)
{
    struct zoo_events *ev = calloc(1, sizeof(*ev));

    if (ev == NULL) {
        return NULL;
    }
    pthread_mutex_init(&ev->lock, NULL);
    ev->out = out;
    ev->size = ring ? ring : 1;
    ev->next_id = 1;
    ev->ring = calloc(ev->size, sizeof(*ev->ring));
    if (ev->ring == NULL) {
        zoo_events_free(ev);
        return NULL;
    }
    return ev;
}

static struct counts *counts_of(struct zoo_events *ev, const char *name)
{
    for (size_t i = 0; i < ev->n_counts; i++) {
        if (strcmp(ev->counts[i].name, name) == 0) {
            return &ev->counts[i];
        }
    }
    return NULL;
}

/* The counts of NAME, added if new; NULL when out of memory. Locked. */
static struct counts *counts_for(struct zoo_events *ev, const char *name)
{
    struct counts *c = counts_of(ev, name), *grown;
    char *copy;

    if (c != NULL) {
        return c;
    }
    if ((copy = strdup(name)) == NULL ||
        (grown = realloc(ev->counts, (ev->n_counts + 1) * sizeof(*grown))) == NULL) {
        free(copy);
        return NULL;
    }
    ev->counts = grown;
    ev->counts[ev->n_counts] = (struct counts){.name = copy};
    return &ev->counts[ev->n_counts++];
}

int zoo_events_add_scenarios(struct zoo_events *ev, const struct zoo_catalog *catalog)
{
    int ret = 0;

    pthread_mutex_lock(&ev->lock);
    for (size_t i = 0; ret == 0 && i < catalog->count; i++) {
        ret = counts_for(ev, catalog->items[i].name) ? 0 : -1;
    }
    pthread_mutex_unlock(&ev->lock);
    return ret;
}

void zoo_events_free(struct zoo_events *ev)
{
    if (ev == NULL) {
        return;
    }
    for (size_t i = 0; ev->ring != NULL && i < ev->size; i++) {
        free(ev->ring[i].line);
    }
    for (size_t i = 0; i < ev->n_counts; i++) {
        free(ev->counts[i].name);
        for (size_t j = 0; j < ZOO_VERDICT_LAST; j++) {
            free(ev->counts[i].last[j]);
        }
    }
    free(ev->ring);
    free(ev->counts);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

static json_t *u16_list(const uint16_t *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_integer(v[i]));
    }
    return a;
}

/* ALPN names may hold any byte: JSON text when they are UTF-8 without NUL,
 * else hex. */
static json_t *alpn_json(const struct zoo_hello *h)
{
    json_t *a = json_array();

    for (size_t i = 0; i < h->n_alpn; i++) {
        /* NUL is valid UTF-8 but many JSON readers refuse "\u0000". */
        json_t *name = memchr(h->alpn[i], 0, h->alpn_len[i]) == NULL
                           ? json_stringn(h->alpn[i], h->alpn_len[i])
                           : NULL;
        if (name == NULL) {
            char hex[2 * ZOO_HELLO_MAX_ALPN_LEN + 3] = "0x";
            for (size_t j = 0; j < h->alpn_len[i]; j++) {
                snprintf(hex + 2 + 2 * j, 3, "%02x", (unsigned char)h->alpn[i][j]);
            }
            name = json_string(hex);
        }
        json_array_append_new(a, name);
    }
    return a;
}

static json_t *hello_json(const struct zoo_hello *h)
{
    char ja3[ZOO_JA3_MAX], ja3_md5[33], ja4[64];
    json_t *alpn = alpn_json(h), *o;

    o = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b}", "legacy_version",
                  h->legacy_version, "supported_versions", u16_list(h->versions, h->n_versions),
                  "cipher_suites", u16_list(h->suites, h->n_suites), "extensions",
                  u16_list(h->extensions, h->n_extensions), "sni",
                  h->has_sni ? json_string(h->sni) : json_null(), "alpn", alpn, "supported_groups",
                  u16_list(h->groups, h->n_groups), "signature_algorithms",
                  u16_list(h->sig_algs, h->n_sig_algs), "key_share_groups",
                  u16_list(h->key_shares, h->n_key_shares), "session_ticket", h->session_ticket,
                  "psk", h->psk);
    if (zoo_ja3(h, ja3, sizeof(ja3), ja3_md5) == 0) {
        json_object_set_new(o, "ja3", json_string(ja3));
        json_object_set_new(o, "ja3_md5", json_string(ja3_md5));
    }
    if (zoo_ja4(h, ja4, sizeof(ja4)) == 0) {
        json_object_set_new(o, "ja4", json_string(ja4));
    }
    return o;
}

static json_t *outcome_json(const struct zoo_report *r)
{
    json_t *o = json_pack("{s:s}", "result", zoo_result_name(r->result));

    if (r->result == ZOO_RESULT_CLIENT_ALERT || r->result == ZOO_RESULT_SERVER_ALERT) {
        const char *name = zoo_alert_name(r->alert_code);
        json_object_set_new(o, "alert",
                            json_pack("{s:s, s:i, s:s, s:s}", "level", "fatal", "code",
                                      r->alert_code, "name", name ? name : "unknown", "stage",
                                      zoo_stage_name(r->stage)));
    } else if (r->result != ZOO_RESULT_COMPLETED) {
        json_object_set_new(o, "stage", json_string(zoo_stage_name(r->stage)));
    }
    if (r->detail[0] != '\0') {
        json_object_set_new(o, "detail", json_string(r->detail));
    }
    if (r->result == ZOO_RESULT_MALFORMED) {
        json_object_set_new(o, "first_bytes", json_string(r->first_bytes));
    }
    return o;
}

static json_t *tls_json(const struct zoo_report *r)
{
    json_t *o;

    if (r->version[0] == '\0') {
        return json_null();
    }
    o = json_pack("{s:s, s:s, s:o}", "version", r->version, "cipher", r->cipher, "alpn",
                  r->alpn[0] ? json_string(r->alpn) : json_null());
    json_object_set_new(o, "client_certificate",
                        r->client_subject[0] ? json_pack("{s:s, s:s}", "subject", r->client_subject,
                                                         "issuer", r->client_issuer)
                                             : json_null());
    return o;
}

static void iso_time(const struct timespec *t, char *buf, size_t len)
{
    struct tm tm;
    char base[32];

    gmtime_r(&t->tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", base, t->tv_nsec / 1000000);
}

/* Counts the verdict and keeps a copy of LINE among the scenario's last. */
static void count(struct counts *c, const char *line, enum zoo_verdict v)
{
    c->pass += v == ZOO_VERDICT_PASS;
    c->fail += v == ZOO_VERDICT_FAIL;
    c->suspect += v == ZOO_VERDICT_SUSPECT;
    free(c->last[0]);
    memmove(c->last, c->last + 1, (ZOO_VERDICT_LAST - 1) * sizeof(*c->last));
    c->last[ZOO_VERDICT_LAST - 1] = strdup(line);
}

static json_t *event_json(uint64_t id, const struct zoo_report *r, enum zoo_verdict *verdict)
{
    const struct zoo_scenario *s = r->scenario;
    char when[40], why[600];

    *verdict = zoo_verdict_judge(r, why, sizeof(why));
    iso_time(&r->started, when, sizeof(when));
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:I, s:I, s:f, s:s, s:s, s:s}", "id",
                     (json_int_t)id, "time", when, "scenario", s->name, "peer", r->peer,
                     "client_hello", r->hello ? hello_json(r->hello) : json_null(), "outcome",
                     outcome_json(r), "tls", tls_json(r), "application_data", r->app_data,
                     "bytes_in", (json_int_t)r->bytes_in, "bytes_out", (json_int_t)r->bytes_out,
                     "handshake_ms", r->handshake_ms, "expect",
                     s->expect.outcome == ZOO_OUTCOME_REJECT ? "reject" : "accept", "verdict",
                     zoo_verdict_name(*verdict), "verdict_reason", why);
}

uint64_t zoo_events_emit(struct zoo_events *ev, const struct zoo_report *r)
{
    enum zoo_verdict verdict;
    json_t *event = event_json(0, r, &verdict);
    struct entry *slot;
    struct counts *c;
    char *line;
    uint64_t id;

    if (event == NULL) {
        return 0;
    }
    /* Ids, lines and the ring advance together, so lines are whole and in id order. */
    pthread_mutex_lock(&ev->lock);
    id = ev->next_id++;
    json_object_set_new(event, "id", json_integer((json_int_t)id));
    line = json_dumps(event, ZOO_EVENT_JSON_FLAGS);
    if (line != NULL && ev->out != NULL) {
        fprintf(ev->out, "%s\n", line);
        fflush(ev->out);
    }
    if (line != NULL && (c = counts_for(ev, r->scenario->name)) != NULL) {
        count(c, line, verdict);
        slot = &ev->ring[ev->head];
        free(slot->line);
        *slot = (struct entry){.id = id, .scenario = c->name, .line = line};
        snprintf(slot->peer, sizeof(slot->peer), "%s", r->peer);
        ev->head = (ev->head + 1) % ev->size;
        line = NULL;
    }
    pthread_mutex_unlock(&ev->lock);
    json_decref(event);
    free(line);
    return id;
}

static bool matches(const struct entry *e, const char *scenario, const char *peer, uint64_t since)
{
    size_t plen = peer ? strlen(peer) : 0;

    if (e->line == NULL || e->id <= since || (scenario && strcmp(scenario, e->scenario) != 0)) {
        return false;
    }
    /* A peer filter matches "ADDR:PORT" exactly or the address alone. */
    return peer == NULL || strcmp(peer, e->peer) == 0 ||
           (strncmp(peer, e->peer, plen) == 0 && e->peer[plen] == ':');
}

uint64_t zoo_events_latest(struct zoo_events *ev)
{
    uint64_t id;

    pthread_mutex_lock(&ev->lock);
    id = ev->next_id - 1;
    pthread_mutex_unlock(&ev->lock);
    return id;
}

json_t *zoo_events_query(struct zoo_events *ev, const char *scenario, const char *peer,
                         uint64_t since, size_t limit, uint64_t *next)
{
    json_t *out = json_array();

    pthread_mutex_lock(&ev->lock);
    *next = since;
    for (size_t i = 0; i < ev->size && json_array_size(out) < limit; i++) {
        const struct entry *e = &ev->ring[(ev->head + i) % ev->size]; /* oldest first */
        if (matches(e, scenario, peer, since)) {
            json_array_append_new(out, json_loads(e->line, 0, NULL));
            *next = e->id;
        }
    }
    /* Nothing matched: the cursor moves past what exists, so polling stays cheap. */
    if (json_array_size(out) == 0 && ev->next_id - 1 > since) {
        *next = ev->next_id - 1;
    }
    pthread_mutex_unlock(&ev->lock);
    return out;
}

json_t *zoo_events_verdicts(struct zoo_events *ev, size_t last)
{
    json_t *o = json_object();
    size_t from = ZOO_VERDICT_LAST - (last < ZOO_VERDICT_LAST ? last : ZOO_VERDICT_LAST);

    pthread_mutex_lock(&ev->lock);
    for (size_t i = 0; i < ev->n_counts; i++) {
        struct counts *c = &ev->counts[i];
        json_t *recent = json_array();
        for (size_t j = from; j < ZOO_VERDICT_LAST; j++) {
            if (c->last[j] != NULL) {
                json_array_append_new(recent, json_loads(c->last[j], 0, NULL));
            }
        }
        json_object_set_new(o, c->name,
                            json_pack("{s:I, s:I, s:I, s:o}", "pass", c->pass, "fail", c->fail,
                                      "suspect", c->suspect, "last", recent));
    }
    pthread_mutex_unlock(&ev->lock);
    return o;
}
