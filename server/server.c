/* Server start-up in the order that keeps errors cheap: check every port
 * first (a taken port is bad input, exit 2, nothing served), then open the
 * event log and control API, mint certificates and build contexts, start
 * the workers, announce, and wait for a signal on the main thread. */
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
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "catalog.h"
#include "control.h"
#include "events.h"
#include "pki.h"
#include "tls.h"
#include "worker.h"

struct server {
    struct event_base *base; /* the main thread's: signals and the control API */
    struct zoo_tls_ctx **ctxs;
    size_t n_ctxs;
    struct zoo_worker **workers;
    size_t n_workers;
    FILE *events_file;
    FILE *keylog;
    struct zoo_events *events;
    struct zoo_control *control;
    int control_port;
};

/* Binds each scenario's port once without SO_REUSEPORT, so that a port
 * held by anyone else is reported before anything listens, and records the
 * kernel's choice for "listen: 0". 0, or -1 with ERR. */
static int reserve_ports(struct zoo_catalog *catalog, const char *bind, char *err, size_t len)
{
    for (size_t i = 0; i < catalog->count; i++) {
        struct zoo_scenario *s = &catalog->items[i];
        int fd = zoo_worker_listen(s, zoo_catalog_bind(s, bind), s->port, 0, err, len);
        if (fd < 0) {
            return -1;
        }
        s->port = zoo_addr_local_port(fd);
        close(fd);
    }
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    fprintf(stderr, "tlszoo: %s received, stopping\n", strsignal((int)sig));
    event_base_loopbreak(arg);
}

static void server_cleanup(struct server *srv)
{
    for (size_t i = 0; i < srv->n_workers; i++) {
        zoo_worker_stop(srv->workers[i]); /* all drain at once */
    }
    for (size_t i = 0; i < srv->n_workers; i++) {
        zoo_worker_free(srv->workers[i]); /* ends its connections, each with its event */
    }
    free(srv->workers);
    for (size_t i = 0; i < srv->n_ctxs; i++) {
        zoo_tls_ctx_free(srv->ctxs[i]);
    }
    free(srv->ctxs);
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

/* Mints every leaf and builds every context; 0 or -1 with ERR. */
static int prepare(struct server *srv, const struct zoo_catalog *catalog,
                   const struct zoo_serve_options *o, char *err, size_t len)
{
    char client_ca[PATH_MAX];
    struct zoo_pki *pki = zoo_pki_open(o->certs, err, len);
    time_t now = time(NULL);
    int ret = 0;

    if (pki == NULL) {
        return -1;
    }
    srv->ctxs = calloc(catalog->count ? catalog->count : 1, sizeof(*srv->ctxs));
    zoo_pki_path(o->certs, ZOO_PKI_CLIENT_CA, client_ca, sizeof(client_ca));
    for (; ret == 0 && srv->ctxs != NULL && srv->n_ctxs < catalog->count; srv->n_ctxs++) {
        const struct zoo_scenario *s = &catalog->items[srv->n_ctxs];
        struct zoo_leaf leaf;
        if ((ret = zoo_pki_leaf(pki, s, now, &leaf, err, len)) != 0) {
            break;
        }
        srv->ctxs[srv->n_ctxs] = zoo_tls_ctx_new(s, &leaf, client_ca, err, len);
        ret = srv->ctxs[srv->n_ctxs] ? 0 : -1;
        zoo_leaf_cleanup(&leaf);
    }
    zoo_pki_free(pki);
    return srv->ctxs == NULL ? -1 : ret;
}

/* Starts O->workers workers; 0 or -1 with ERR. */
static int start_workers(struct server *srv, const struct zoo_catalog *catalog,
                         const struct zoo_serve_options *o, char *err, size_t len)
{
    struct zoo_worker_config cfg = {catalog, srv->ctxs, srv->events, o->bind, &o->limits,
                                    o->grace};

    srv->workers = calloc((size_t)o->workers, sizeof(*srv->workers));
    if (srv->workers == NULL) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    for (; srv->n_workers < (size_t)o->workers; srv->n_workers++) {
        struct zoo_worker *w = zoo_worker_new(&cfg, err, len);
        if (w == NULL) {
            return -1;
        }
        srv->workers[srv->n_workers] = w;
        if (zoo_worker_start(w) != 0) {
            snprintf(err, len, "cannot start worker thread");
            return -1;
        }
    }
    return 0;
}

/* Opens the event stream, the key log and the control API. */
static int observe(struct server *srv, const struct zoo_catalog *catalog,
                   const struct zoo_serve_options *o, char *err, size_t len)
{
    char ca[PATH_MAX];
    json_t *manifest;

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
    srv->events = zoo_events_new(srv->events_file, o->ring, catalog);
    if (srv->events == NULL || o->control_port < 0) {
        return srv->events ? 0 : -1;
    }
    zoo_pki_path(o->certs, ZOO_PKI_CA, ca, sizeof(ca));
    manifest = zoo_catalog_json(catalog, o->bind, o->certs);
    srv->control_port = o->control_port;
    srv->control = zoo_control_new(srv->base, o->bind, &srv->control_port, manifest, ca,
                                   srv->events, err, len);
    json_decref(manifest);
    return srv->control ? 0 : -1;
}

static void banner(const struct server *srv, const struct zoo_catalog *catalog,
                   const struct zoo_serve_options *o)
{
    char ca[PATH_MAX];

    zoo_pki_path(o->certs, ZOO_PKI_CA, ca, sizeof(ca));
    fprintf(stderr, "tlszoo: %zu scenarios on %s, %d worker%s\n\n", catalog->count, o->bind,
            o->workers, o->workers == 1 ? "" : "s");
    zoo_catalog_print_table(catalog, o->bind, stderr);
    fprintf(stderr, "\nTrust %s once (e.g. curl --cacert %s).\n", ca, ca);
    if (srv->control != NULL) {
        fprintf(stderr, "Control API: http://%s:%d/api/verdicts (also /api/events, "
                        "/api/scenarios, /ca.pem)\n", o->bind, srv->control_port);
    }
    fprintf(stderr, "One JSON event per connection goes to %s; `tlszoo explain NAME` tells "
                    "more. Ctrl-C stops.\n\n",
            o->events_path ? o->events_path : "standard output");
}

int zoo_serve(struct zoo_catalog *catalog, const struct zoo_serve_options *o)
{
    struct server srv = {0};
    struct event *sigint = NULL, *sigterm = NULL;
    char err[4096] = "";
    int status = 1;

    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0 || (srv.base = event_base_new()) == NULL) {
        fprintf(stderr, "tlszoo: cannot set up the event loop\n");
        goto out;
    }
    if (reserve_ports(catalog, o->bind, err, sizeof(err)) != 0) {
        fputs(err, stderr);
        status = 2;
        goto out;
    }
    if (observe(&srv, catalog, o, err, sizeof(err)) != 0 ||
        prepare(&srv, catalog, o, err, sizeof(err)) != 0 ||
        start_workers(&srv, catalog, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "tlszoo: %s\n", err);
        goto out;
    }
    sigint = evsignal_new(srv.base, SIGINT, on_signal, srv.base);
    sigterm = evsignal_new(srv.base, SIGTERM, on_signal, srv.base);
    if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) != 0 ||
        event_add(sigterm, NULL) != 0) {
        fprintf(stderr, "tlszoo: cannot install signal handlers\n");
        goto out;
    }
    banner(&srv, catalog, o);
    status = event_base_dispatch(srv.base) < 0 ? 1 : 0;
out:
    if (sigint != NULL) {
        event_free(sigint);
    }
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    server_cleanup(&srv);
    return status;
}
