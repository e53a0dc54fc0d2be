/* Worker threads. Each owns an event_base, its listeners and the
 * connections they accept; nothing of a connection leaves its worker. */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "conn.h"
#include "error.h"

/* As deep an accept queue as the kernel allows (net.core.somaxconn caps it):
 * a connection that overflows it never reaches us and so gets no event. */
#define ZOO_BACKLOG 65535

struct listener {
    struct zoo_endpoint ep;
    struct evconnlistener *lev;
};

struct zoo_worker {
    struct event_base *base;
    struct listener *listeners;
    size_t count;
    pthread_t thread;
    bool running;
    bool stopping;
    atomic_bool finished;
    int grace;
    struct event *drain; /* while stopping: checks whether connections are gone */
    struct timespec deadline;
};

int zoo_worker_listen(const struct zoo_scenario *s, const char *addr, int port, int reuseport,
                      char *err, size_t len)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    char service[8];
    int fd, one = 1, rc;

    snprintf(service, sizeof(service), "%d", port);
    if ((rc = getaddrinfo(addr, service, &hints, &ai)) != 0) {
        snprintf(err, len, "%s:%d:%d: scenario '%s': bad listen address '%s': %s\n", s->file,
                 s->listen_mark.line, s->listen_mark.column, s->name, addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        }
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, ZOO_BACKLOG) != 0) {
        snprintf(err, len, "%s:%d:%d: scenario '%s': cannot listen on %s port %d: %s%s\n", s->file,
                 s->listen_mark.line, s->listen_mark.column, s->name, addr, port, strerror(errno),
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

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct listener *l = arg;

    zoo_conn_start(evconnlistener_get_base(lev), &l->ep, fd, sa, (socklen_t)len);
}

struct zoo_worker *zoo_worker_new(const struct zoo_worker_config *cfg, char *err, size_t len)
{
    const struct zoo_catalog *c = cfg->catalog;
    struct zoo_worker *w = calloc(1, sizeof(*w));

    if (w == NULL || (w->base = event_base_new()) == NULL ||
        (w->listeners = calloc(c->count ? c->count : 1, sizeof(*w->listeners))) == NULL) {
        snprintf(err, len, "out of memory");
        zoo_worker_free(w);
        return NULL;
    }
    for (; w->count < c->count; w->count++) {
        const struct zoo_scenario *s = &c->items[w->count];
        struct listener *l = &w->listeners[w->count];
        int fd = zoo_worker_listen(s, zoo_catalog_bind(s, cfg->bind), s->port, 1, err, len);
        l->ep = (struct zoo_endpoint){s, cfg->ctxs[w->count], cfg->events, cfg->limits};
        if (fd < 0) {
            zoo_worker_free(w);
            return NULL;
        }
        /* Backlog 0: the socket already listens; -1 would make libevent listen(fd, 128). */
        l->lev = evconnlistener_new(w->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE, 0, fd);
        if (l->lev == NULL) {
            close(fd);
            snprintf(err, len, "evconnlistener_new() failed");
            zoo_worker_free(w);
            return NULL;
        }
    }
    return w;
}

static void *run(void *arg)
{
    struct zoo_worker *w = arg;

    event_base_dispatch(w->base);
    /* Connections belong to this thread: end them here, each with its event. */
    zoo_conn_close_all();
    atomic_store(&w->finished, true);
    return NULL;
}

static void close_listeners(struct zoo_worker *w)
{
    for (size_t i = 0; i < w->count; i++) {
        if (w->listeners[i].lev != NULL) {
            evconnlistener_free(w->listeners[i].lev);
            w->listeners[i].lev = NULL;
        }
    }
}

/* On the worker's thread, while stopping: done when no connection is left
 * or the grace period is over. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct zoo_worker *w = arg;
    struct timespec now;

    (void)fd;
    (void)what;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (zoo_conn_count() == 0 || now.tv_sec > w->deadline.tv_sec ||
        (now.tv_sec == w->deadline.tv_sec && now.tv_nsec >= w->deadline.tv_nsec)) {
        event_base_loopbreak(w->base);
    }
}

/* On the worker's thread: stop accepting, then drain. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct zoo_worker *w = arg;
    struct timeval every = {0, 50 * 1000};

    (void)fd;
    (void)what;
    close_listeners(w);
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    w->deadline.tv_sec += w->grace;
    w->drain = event_new(w->base, -1, EV_PERSIST, on_drain, w);
    if (w->drain == NULL || event_add(w->drain, &every) != 0) {
        event_base_loopbreak(w->base);
    }
}

int zoo_worker_start(struct zoo_worker *w)
{
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        return ZOO_ENOMEM;
    }
    w->running = true;
    return 0;
}

bool zoo_worker_finished(struct zoo_worker *w)
{
    return !w->running || atomic_load(&w->finished);
}

void zoo_worker_stop(struct zoo_worker *w, int grace)
{
    if (w == NULL || !w->running || w->stopping) {
        return;
    }
    w->stopping = true;
    w->grace = grace;
    /* Runs on_stop on the worker's own thread (libevent is set up for threads). */
    if (event_base_once(w->base, -1, EV_TIMEOUT, on_stop, w, &(struct timeval){0, 0}) != 0) {
        event_base_loopbreak(w->base);
    }
}

void zoo_worker_free(struct zoo_worker *w)
{
    if (w == NULL) {
        return;
    }
    zoo_worker_stop(w, 0);
    if (w->running) {
        pthread_join(w->thread, NULL);
    }
    close_listeners(w);
    if (w->drain != NULL) {
        event_free(w->drain);
    }
    free(w->listeners);
    if (w->base != NULL) {
        event_base_free(w->base);
    }
    free(w);
}
