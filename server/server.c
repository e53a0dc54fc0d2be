/* Server start-up in the order that keeps errors cheap: bind every port
 * first (a taken port is bad input, exit 2, nothing served), then open the
 * event log and control API, mint and build contexts, announce and serve. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "catalog.h"
#include "conn.h"
#include "control.h"
#include "events.h"
#include "pki.h"
#include "tls.h"

struct listener {
    struct zoo_endpoint ep;
    struct evconnlistener *lev;
    int fd;
};

struct server {
    struct event_base *base;
    struct listener *listeners;
    size_t count;
    FILE *events_file;
    FILE *keylog;
    struct zoo_events *events;
    struct zoo_control *control;
    int control_port;
};

/* Binds S's address; returns the listening socket or -1 with ERR. */
static int bind_scenario(const struct zoo_scenario *s, const char *addr, char *err, size_t len)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    char port[8];
    int fd, one = 1, rc;

    snprintf(port, sizeof(port), "%d", s->port);
    if ((rc = getaddrinfo(addr, port, &hints, &ai)) != 0) {
        snprintf(err, len, "%s:%d:%d: scenario '%s': bad listen address '%s': %s\n", s->file,
                 s->listen_mark.line, s->listen_mark.column, s->name, addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, len, "%s:%d:%d: scenario '%s': cannot listen on %s port %d: %s%s\n",
                 s->file, s->listen_mark.line, s->listen_mark.column, s->name, addr, s->port,
                 strerror(errno),
                 errno == EADDRINUSE ? " (stop the other server, or move all ports with "
                                       "--port-offset)"
                                     : "");
        if (fd >= 0) {
            close(fd);
        }
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int len, void *arg)
{
    struct listener *l = arg;

    zoo_conn_start(evconnlistener_get_base(lev), &l->ep, fd, sa, (socklen_t)len);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    fprintf(stderr, "tlszoo: %s received, stopping\n", strsignal((int)sig));
    event_base_loopbreak(arg);
}

static void server_cleanup(struct server *srv)
{
    zoo_conn_close_all();
    for (size_t i = 0; i < srv->count; i++) {
        struct listener *l = &srv->listeners[i];
        if (l->lev != NULL) {
            evconnlistener_free(l->lev);
        } else if (l->fd >= 0) {
            close(l->fd);
        }
        zoo_tls_ctx_free(l->ep.ctx);
    }
    free(srv->listeners);
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
static int prepare(struct server *srv, const struct zoo_serve_options *o, char *err, size_t len)
{
    char client_ca[PATH_MAX];
    struct zoo_pki *pki = zoo_pki_open(o->certs, err, len);
    time_t now = time(NULL);
    int ret = 0;

    if (pki == NULL) {
        return -1;
    }
    zoo_pki_path(o->certs, ZOO_PKI_CLIENT_CA, client_ca, sizeof(client_ca));
    for (size_t i = 0; ret == 0 && i < srv->count; i++) {
        struct listener *l = &srv->listeners[i];
        struct zoo_leaf leaf;
        if ((ret = zoo_pki_leaf(pki, l->ep.scenario, now, &leaf, err, len)) != 0) {
            break;
        }
        l->ep.ctx = zoo_tls_ctx_new(l->ep.scenario, &leaf, client_ca, err, len);
        ret = l->ep.ctx ? 0 : -1;
        zoo_leaf_cleanup(&leaf);
        if (ret == 0 &&
            (l->lev = evconnlistener_new(srv->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE, -1,
                                         l->fd)) == NULL) {
            snprintf(err, len, "evconnlistener_new() failed");
            ret = -1;
        }
    }
    zoo_pki_free(pki);
    return ret;
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
    fprintf(stderr, "tlszoo: %zu scenarios on %s\n\n", catalog->count, o->bind);
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
    srv.base = event_base_new();
    srv.listeners = calloc(catalog->count, sizeof(*srv.listeners));
    if (srv.base == NULL || srv.listeners == NULL) {
        fprintf(stderr, "tlszoo: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < catalog->count; i++, srv.count++) {
        struct listener *l = &srv.listeners[i];
        struct zoo_scenario *s = &catalog->items[i];
        l->ep = (struct zoo_endpoint){s, NULL, NULL, o->handshake_timeout};
        if ((l->fd = bind_scenario(s, zoo_catalog_bind(s, o->bind), err, sizeof(err))) < 0) {
            fputs(err, stderr);
            status = 2;
            goto out;
        }
        s->port = zoo_addr_local_port(l->fd); /* the kernel's choice for "listen: 0" */
    }
    if (observe(&srv, catalog, o, err, sizeof(err)) != 0 || prepare(&srv, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "tlszoo: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < srv.count; i++) {
        srv.listeners[i].ep.events = srv.events;
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
