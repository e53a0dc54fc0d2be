/* The daemon's main thread. Start-up runs in the order that keeps errors
 * cheap: check every port (a taken port is bad input, exit 2, nothing
 * served), open the event log and control API, then start the first
 * generation of workers. Afterwards the main thread only handles signals,
 * reloads and the control API: SIGHUP loads the scenario files again and,
 * if they are valid, starts a new generation and retires the old one;
 * SIGTERM and SIGINT stop accepting and give open connections a grace period. */
#include "server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "catalog.h"
#include "control.h"
#include "events.h"
#include "generation.h"
#include "pki.h"
#include "tls.h"

#define ZOO_RETIRED_MAX 16

struct server {
    const struct zoo_serve_options *o;
    struct event_base *base; /* the main thread's: signals, reloads, the control API */
    struct zoo_generation *current;
    struct zoo_generation *retired[ZOO_RETIRED_MAX]; /* draining after a reload */
    struct event *signals[3], *reaper;
    FILE *events_file;
    FILE *keylog;
    struct zoo_events *events;
    struct zoo_control *control;
    int control_port;
};

static struct zoo_generation_config generation_config(const struct server *srv)
{
    return (struct zoo_generation_config){srv->o->certs, srv->o->bind, &srv->o->limits,
                                          srv->o->workers, srv->events};
}

/* Tells the control API and the verdict table about the current catalog. */
static void publish(struct server *srv)
{
    const struct zoo_catalog *catalog = zoo_generation_catalog(srv->current);
    json_t *manifest;

    zoo_events_add_scenarios(srv->events, catalog);
    if (srv->control != NULL &&
        (manifest = zoo_catalog_json(catalog, srv->o->bind, srv->o->certs)) != NULL) {
        zoo_control_set_catalog(srv->control, manifest);
        json_decref(manifest);
    }
}

/* Frees retired generations whose connections have all ended. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd;
    (void)what;
    for (size_t i = 0; i < ZOO_RETIRED_MAX; i++) {
        if (srv->retired[i] != NULL && zoo_generation_finished(srv->retired[i])) {
            zoo_generation_free(srv->retired[i]);
            srv->retired[i] = NULL;
        }
    }
}

static void retire(struct server *srv, struct zoo_generation *old)
{
    /* Old connections may take their full timeouts; nothing is cut short. */
    int grace = srv->o->limits.handshake_timeout + 2 * srv->o->limits.idle_timeout;

    zoo_generation_stop(old, grace);
    for (size_t i = 0; i < ZOO_RETIRED_MAX; i++) {
        if (srv->retired[i] == NULL) {
            srv->retired[i] = old;
            return;
        }
    }
    zoo_generation_free(old); /* too many reloads at once: this one is cut short */
}

static void reload(struct server *srv)
{
    static char err[65536];
    struct zoo_catalog catalog;
    struct zoo_generation *next;
    struct zoo_generation_config cfg = generation_config(srv);
    bool bad_input;

    if (zoo_catalog_load(srv->o->scenarios, srv->o->port_offset, &catalog, err, sizeof(err)) != 0) {
        fprintf(stderr, "%stlszoo: reload failed; still serving the previous scenarios\n", err);
        return;
    }
    next = zoo_generation_start(&catalog, srv->current, &cfg, err, sizeof(err), &bad_input);
    zoo_catalog_cleanup(&catalog);
    if (next == NULL) {
        fprintf(stderr, "%s%stlszoo: reload failed; still serving the previous scenarios\n",
                bad_input ? "" : "tlszoo: ", err);
        return;
    }
    retire(srv, srv->current);
    srv->current = next;
    publish(srv);
    fprintf(stderr, "tlszoo: reloaded %zu scenarios\n", zoo_generation_catalog(next)->count);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;

    (void)what;
    if (sig == SIGHUP) {
        reload(srv);
        return;
    }
    fprintf(stderr, "tlszoo: %s received, stopping\n", strsignal((int)sig));
    event_base_loopbreak(srv->base);
}

/* Opens the event stream, the key log and the control API. */
static int observe(struct server *srv, char *err, size_t len)
{
    const struct zoo_serve_options *o = srv->o;
    char ca[PATH_MAX];
    json_t *empty;

    srv->events_file = o->events_path ? fopen(o->events_path, "a") : stdout;
    if (srv->events_file == NULL) {
        snprintf(err, len, "cannot open --events %s: %s", o->events_path, strerror(errno));
        return -1;
    }
    if (o->keylog_path != NULL) {
        int fd = open(o->keylog_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || (srv->keylog = fdopen(fd, "a")) == NULL) {
            snprintf(err, len, "cannot open --keylog %s: %s", o->keylog_path, strerror(errno));
            return -1;
        }
        zoo_tls_set_keylog(srv->keylog);
    }
    /* Without the control API nothing reads the ring: keep one event. */
    if ((srv->events = zoo_events_new(srv->events_file, o->control_port < 0 ? 1 : o->ring)) ==
        NULL) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    if (o->control_port < 0) {
        return 0;
    }
    zoo_pki_path(o->certs, ZOO_PKI_CA, ca, sizeof(ca));
    empty = json_object();
    srv->control_port = o->control_port;
    srv->control =
        zoo_control_new(srv->base, o->bind, &srv->control_port, empty, ca, srv->events, err, len);
    json_decref(empty);
    return srv->control ? 0 : -1;
}

static int handle_signals(struct server *srv)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct timeval every = {1, 0};

    for (size_t i = 0; i < 3; i++) {
        srv->signals[i] = evsignal_new(srv->base, sigs[i], on_signal, srv);
        if (srv->signals[i] == NULL || event_add(srv->signals[i], NULL) != 0) {
            return -1;
        }
    }
    srv->reaper = event_new(srv->base, -1, EV_PERSIST, on_reap, srv);
    return srv->reaper && event_add(srv->reaper, &every) == 0 ? 0 : -1;
}

static void banner(const struct server *srv)
{
    const struct zoo_serve_options *o = srv->o;
    const struct zoo_catalog *catalog = zoo_generation_catalog(srv->current);
    char ca[PATH_MAX];

    zoo_pki_path(o->certs, ZOO_PKI_CA, ca, sizeof(ca));
    fprintf(stderr, "tlszoo: %zu scenarios on %s, %d worker%s\n\n", catalog->count, o->bind,
            o->workers, o->workers == 1 ? "" : "s");
    zoo_catalog_print_table(catalog, o->bind, stderr);
    fprintf(stderr, "\nTrust %s once (e.g. curl --cacert %s).\n", ca, ca);
    if (srv->control != NULL) {
        fprintf(stderr,
                "Control API: http://%s:%d/api/verdicts (also /api/events, "
                "/api/scenarios, /ca.pem)\n",
                o->bind, srv->control_port);
    }
    fprintf(stderr,
            "One JSON event per connection goes to %s; `tlszoo explain NAME` tells "
            "more.\nCtrl-C stops; SIGHUP reloads the scenario files.\n\n",
            o->events_path ? o->events_path : "standard output");
}

static void server_cleanup(struct server *srv)
{
    if (srv->current != NULL) {
        zoo_generation_stop(srv->current, srv->o->grace); /* all drain at once */
    }
    for (size_t i = 0; i < ZOO_RETIRED_MAX; i++) {
        if (srv->retired[i] != NULL) {
            zoo_generation_stop(srv->retired[i], srv->o->grace);
        }
    }
    zoo_generation_free(srv->current);
    for (size_t i = 0; i < ZOO_RETIRED_MAX; i++) {
        zoo_generation_free(srv->retired[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        if (srv->signals[i] != NULL) {
            event_free(srv->signals[i]);
        }
    }
    if (srv->reaper != NULL) {
        event_free(srv->reaper);
    }
    zoo_control_free(srv->control);
    zoo_events_free(srv->events);
    if (srv->events_file != NULL && srv->events_file != stdout) {
        fclose(srv->events_file);
    }
    if (srv->keylog != NULL) {
        zoo_tls_set_keylog(NULL);
        fclose(srv->keylog);
    }
    if (srv->base != NULL) {
        event_base_free(srv->base);
    }
}

/* Raises the open file limit as far as allowed and keeps --max-connections
 * below it, so that a full server refuses connections (with events) rather
 * than leaving them unaccepted. */
static void fit_file_limit(struct zoo_serve_options *o, size_t listeners)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)o->limits.max_connections + (rlim_t)listeners + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        o->limits.max_connections = (int)(rl.rlim_cur - listeners - 64);
        fprintf(stderr,
                "tlszoo: --max-connections lowered to %d to fit the open file limit "
                "(%llu; raise it with ulimit -n)\n",
                o->limits.max_connections, (unsigned long long)rl.rlim_cur);
    }
}

int zoo_serve(struct zoo_catalog *catalog, const struct zoo_serve_options *options)
{
    struct zoo_serve_options opts = *options;
    const struct zoo_serve_options *o = &opts;
    struct server srv = {.o = o};
    struct zoo_generation_config cfg;
    char err[4096] = "";
    bool bad_input = false;
    int status = 1;

    signal(SIGPIPE, SIG_IGN);
    fit_file_limit(&opts, 2 * catalog->count * (size_t)opts.workers + 8);
    if (evthread_use_pthreads() != 0 || (srv.base = event_base_new()) == NULL) {
        fprintf(stderr, "tlszoo: cannot set up the event loop\n");
        goto out;
    }
    if (observe(&srv, err, sizeof(err)) != 0) {
        fprintf(stderr, "tlszoo: %s\n", err);
        goto out;
    }
    cfg = generation_config(&srv);
    srv.current = zoo_generation_start(catalog, NULL, &cfg, err, sizeof(err), &bad_input);
    if (srv.current == NULL) {
        fprintf(stderr, "%s%s%s", bad_input ? "" : "tlszoo: ", err, bad_input ? "" : "\n");
        status = bad_input ? 2 : 1;
        goto out;
    }
    if (handle_signals(&srv) != 0) {
        fprintf(stderr, "tlszoo: cannot install signal handlers\n");
        goto out;
    }
    publish(&srv);
    banner(&srv);
    status = event_base_dispatch(srv.base) < 0 ? 1 : 0;
out:
    server_cleanup(&srv);
    return status;
}
