/* The load generator's run loops and its one-line JSON report. Load mode
 * runs one epoll loop per thread over its share of the connections; hold
 * mode opens connections a bounded number at a time, reports, and keeps
 * them until standard input closes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loadgen.h"

#define LG_GRACE 3.0           /* seconds in-flight handshakes get after the deadline */
#define LG_SCAN_EVERY 0.05     /* seconds between timeout scans */
#define LG_HOLD_PENDING 128    /* hold mode: connections being opened at once */
#define LG_HOLD_OPEN_MAX 300.0 /* hold mode: bound on the opening phase */

static int worker_init(struct worker *w, const struct opts *o, SSL_CTX *ctx,
                       const struct sockaddr_in *addr, int nslots)
{
    *w = (struct worker){.o = o, .ctx = ctx, .addr = *addr, .nslots = nslots};
    if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (w->slots = calloc((size_t)nslots, sizeof(*w->slots))) == NULL) {
        return -1;
    }
    for (int i = 0; i < nslots; i++) {
        w->slots[i] = (struct slot){.w = w, .fd = -1, .alert = -1};
    }
    return 0;
}

static void worker_cleanup(struct worker *w)
{
    if (w->slots != NULL) {
        for (int i = 0; i < w->nslots; i++) {
            lg_slot_close(&w->slots[i]);
        }
    }
    free(w->slots);
    free(w->st.lat);
    if (w->ep >= 0) {
        close(w->ep);
    }
}

/* Waits up to MS for ready sockets and advances them; stdin is data.ptr NULL. */
static bool poll_once(struct worker *w, int ms)
{
    struct epoll_event evs[256];
    bool stdin_ready = false;
    int n = epoll_wait(w->ep, evs, 256, ms);

    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == NULL) {
            stdin_ready = true;
        } else {
            lg_slot_event(evs[i].data.ptr, evs[i].events);
        }
    }
    return stdin_ready;
}

static void *load_thread(void *arg)
{
    struct worker *w = arg;
    double t0 = lg_now(), end = t0 + w->o->duration, scanned = t0;

    for (;;) {
        double now = lg_now();
        if (now < end) {
            for (int i = 0; i < w->nslots; i++) {
                if (w->slots[i].st == S_IDLE) {
                    (void)lg_slot_start(&w->slots[i]);
                }
            }
        } else if (w->active == 0) {
            break;
        } else if (now >= end + LG_GRACE) {
            w->st.aborted += (uint64_t)w->active;
            break;
        }
        (void)poll_once(w, 10);
        if (now - scanned >= LG_SCAN_EVERY) {
            lg_check_timeouts(w, now);
            scanned = now;
        }
    }
    return NULL;
}

/* Adds B's counters and samples into A. */
static void merge(struct stats *a, struct stats *b)
{
    a->handshakes += b->handshakes;
    a->aborted += b->aborted;
    a->close_timeouts += b->close_timeouts;
    for (int k = 0; k < ERR_KINDS; k++) {
        a->errors[k] += b->errors[k];
    }
    if (a->first_error[0] == '\0') {
        memcpy(a->first_error, b->first_error, sizeof(a->first_error));
    }
    if (a->version[0] == '\0') {
        memcpy(a->version, b->version, sizeof(a->version));
        memcpy(a->cipher, b->cipher, sizeof(a->cipher));
    }
    if (b->nlat > 0 && a->nlat + b->nlat <= a->cap) {
        memcpy(a->lat + a->nlat, b->lat, b->nlat * sizeof(*b->lat));
        a->nlat += b->nlat;
    }
}

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

static double percentile(const struct stats *st, double q)
{
    return st->nlat ? st->lat[(size_t)(q * (double)(st->nlat - 1) + 0.5)] : 0.0;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(const char *key, const char *s)
{
    printf("\"%s\":\"", key);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

static void json_errors(const struct stats *st)
{
    uint64_t total = 0;

    printf("\"errors\":{");
    for (int k = 0; k < ERR_KINDS; k++) {
        printf("%s\"%s\":%llu", k ? "," : "", lg_kind_name((enum err_kind)k),
               (unsigned long long)st->errors[k]);
        total += st->errors[k];
    }
    printf("},\"error_total\":%llu,", (unsigned long long)total);
    json_str("first_error", st->first_error);
}

static void report_load(const struct opts *o, struct stats *st, double elapsed)
{
    qsort(st->lat, st->nlat, sizeof(*st->lat), cmp_float);
    printf("{\"mode\":\"load\",\"port\":%d,\"concurrency\":%d,\"threads\":%d,"
           "\"duration\":%.3f,\"elapsed\":%.3f,\"handshakes\":%llu,\"rate\":%.1f,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"aborted\":%llu,"
           "\"close_timeouts\":%llu,",
           o->port, o->conc, o->threads, o->duration, elapsed, (unsigned long long)st->handshakes,
           elapsed > 0 ? (double)st->handshakes / elapsed : 0, percentile(st, 0.50),
           percentile(st, 0.99), percentile(st, 1.0), (unsigned long long)st->aborted,
           (unsigned long long)st->close_timeouts);
    json_errors(st);
    putchar(',');
    json_str("version", st->version);
    putchar(',');
    json_str("cipher", st->cipher);
    printf("}\n");
    fflush(stdout);
}

int lg_run_load(const struct opts *o, SSL_CTX *ctx, const struct sockaddr_in *addr)
{
    int nt = o->threads < o->conc ? o->threads : o->conc, started = 0, rc = 1;
    struct worker *ws = calloc((size_t)nt, sizeof(*ws));
    struct stats all = {0};
    double t0 = lg_now();

    if (ws == NULL) {
        return 1;
    }
    for (; started < nt; started++) {
        int share = o->conc / nt + (started < o->conc % nt);
        if (worker_init(&ws[started], o, ctx, addr, share) != 0 ||
            pthread_create(&ws[started].thread, NULL, load_thread, &ws[started]) != 0) {
            fprintf(stderr, "loadgen: cannot start worker %d\n", started);
            worker_cleanup(&ws[started]);
            goto out;
        }
    }
    rc = 0;
out:
    for (int i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
        all.cap += ws[i].st.nlat;
    }
    if (rc == 0 && (all.lat = malloc((all.cap ? all.cap : 1) * sizeof(*all.lat))) == NULL) {
        rc = 1;
    }
    for (int i = 0; i < started; i++) {
        merge(&all, &ws[i].st);
        worker_cleanup(&ws[i]);
    }
    if (rc == 0) {
        report_load(o, &all, lg_now() - t0);
    }
    free(all.lat);
    free(ws);
    return rc;
}

/* Opening phase: at most LG_HOLD_PENDING connections in progress at once,
 * so a short listen backlog is not overrun. */
static void hold_open(struct worker *w)
{
    double t0 = lg_now(), scanned = t0;
    int next = 0;

    while ((next < w->nslots || w->active > w->held) && lg_now() - t0 < LG_HOLD_OPEN_MAX) {
        double now;
        while (next < w->nslots && w->active - w->held < LG_HOLD_PENDING) {
            (void)lg_slot_start(&w->slots[next++]);
        }
        (void)poll_once(w, 10);
        if ((now = lg_now()) - scanned >= LG_SCAN_EVERY) {
            lg_check_timeouts(w, now);
            scanned = now;
        }
    }
}

static void report_hold(const struct worker *w, const char *phase, double seconds)
{
    printf("{\"mode\":\"hold\",\"phase\":\"%s\",\"wanted\":%d,\"handshake\":%s,\"held\":%d,"
           "\"dropped\":%llu,\"seconds\":%.3f,",
           phase, w->nslots, w->o->hold_handshake ? "true" : "false", w->held,
           (unsigned long long)w->dropped, seconds);
    json_errors(&w->st);
    printf("}\n");
    fflush(stdout);
}

int lg_run_hold(const struct opts *o, SSL_CTX *ctx, const struct sockaddr_in *addr)
{
    struct worker w;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    double t0 = lg_now(), ready;
    bool have_stdin;

    if (worker_init(&w, o, ctx, addr, o->hold) != 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        worker_cleanup(&w);
        return 1;
    }
    hold_open(&w);
    ready = lg_now();
    report_hold(&w, "ready", ready - t0);
    have_stdin = epoll_ctl(w.ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0;
    while (lg_now() - ready < o->hold_seconds) {
        if (poll_once(&w, 100) && have_stdin) {
            char sink[256];
            if (read(STDIN_FILENO, sink, sizeof(sink)) <= 0) {
                break;
            }
        }
    }
    report_hold(&w, "released", lg_now() - ready);
    worker_cleanup(&w);
    return 0;
}
