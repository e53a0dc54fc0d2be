/* Starting and retiring generations of scenarios. */
#include "generation.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "catalog.h"
#include "pki.h"
#include "tls.h"
#include "worker.h"

struct zoo_generation {
    struct zoo_catalog catalog;
    struct zoo_tls_ctx **ctxs;
    size_t n_ctxs;
    struct zoo_worker **workers;
    size_t n_workers;
};

static bool serves(const struct zoo_generation *g, const struct zoo_scenario *s, const char *bind)
{
    for (size_t i = 0; g != NULL && i < g->catalog.count; i++) {
        const struct zoo_scenario *o = &g->catalog.items[i];
        if (o->port == s->port &&
            strcmp(zoo_catalog_bind(o, bind), zoo_catalog_bind(s, bind)) == 0) {
            return true;
        }
    }
    return false;
}

/* Binds each new port once without SO_REUSEPORT, so that a port held by
 * anyone else is reported before anything listens, and records the
 * kernel's choice for "listen: 0". 0, or -1 with ERR. */
static int reserve_ports(struct zoo_catalog *catalog, const struct zoo_generation *prev,
                         const char *bind, char *err, size_t len)
{
    for (size_t i = 0; i < catalog->count; i++) {
        struct zoo_scenario *s = &catalog->items[i];
        int fd;
        if (s->port != 0 && serves(prev, s, bind)) {
            continue;
        }
        if ((fd = zoo_worker_listen(s, zoo_catalog_bind(s, bind), s->port, 0, err, len)) < 0) {
            return -1;
        }
        s->port = zoo_addr_local_port(fd);
        close(fd);
    }
    return 0;
}

/* Mints every leaf and builds every context; 0 or -1 with ERR. */
static int build_contexts(struct zoo_generation *g, const char *certs, char *err, size_t len)
{
    char client_ca[PATH_MAX];
    struct zoo_pki *pki = zoo_pki_open(certs, err, len);
    time_t now = time(NULL);
    int ret = 0;

    if (pki == NULL) {
        return -1;
    }
    g->ctxs = calloc(g->catalog.count ? g->catalog.count : 1, sizeof(*g->ctxs));
    zoo_pki_path(certs, ZOO_PKI_CLIENT_CA, client_ca, sizeof(client_ca));
    for (; ret == 0 && g->ctxs != NULL && g->n_ctxs < g->catalog.count; g->n_ctxs++) {
        const struct zoo_scenario *s = &g->catalog.items[g->n_ctxs];
        struct zoo_leaf leaf;
        if ((ret = zoo_pki_leaf(pki, s, now, &leaf, err, len)) != 0) {
            break;
        }
        g->ctxs[g->n_ctxs] = zoo_tls_ctx_new(s, &leaf, client_ca, err, len);
        ret = g->ctxs[g->n_ctxs] ? 0 : -1;
        zoo_leaf_cleanup(&leaf);
    }
    zoo_pki_free(pki);
    return g->ctxs == NULL ? -1 : ret;
}

static int start_workers(struct zoo_generation *g, const struct zoo_generation_config *cfg,
                         char *err, size_t len)
{
    struct zoo_worker_config wc = {&g->catalog, g->ctxs, cfg->events, cfg->bind, cfg->limits};

    g->workers = calloc((size_t)cfg->workers, sizeof(*g->workers));
    if (g->workers == NULL) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    for (; g->n_workers < (size_t)cfg->workers; g->n_workers++) {
        struct zoo_worker *w = zoo_worker_new(&wc, err, len);
        if (w == NULL) {
            return -1;
        }
        g->workers[g->n_workers] = w;
        if (zoo_worker_start(w) != 0) {
            snprintf(err, len, "cannot start a worker thread");
            return -1;
        }
    }
    return 0;
}

struct zoo_generation *zoo_generation_start(struct zoo_catalog *catalog,
                                            const struct zoo_generation *prev,
                                            const struct zoo_generation_config *cfg, char *err,
                                            size_t len, bool *bad_input)
{
    struct zoo_generation *g = calloc(1, sizeof(*g));

    *bad_input = false;
    if (g == NULL) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    g->catalog = *catalog;
    memset(catalog, 0, sizeof(*catalog));
    if (reserve_ports(&g->catalog, prev, cfg->bind, err, len) != 0) {
        *bad_input = true;
        zoo_generation_free(g);
        return NULL;
    }
    if (build_contexts(g, cfg->certs, err, len) != 0 || start_workers(g, cfg, err, len) != 0) {
        zoo_generation_free(g);
        return NULL;
    }
    return g;
}

const struct zoo_catalog *zoo_generation_catalog(const struct zoo_generation *g)
{
    return &g->catalog;
}

void zoo_generation_stop(struct zoo_generation *g, int grace)
{
    for (size_t i = 0; i < g->n_workers; i++) {
        zoo_worker_stop(g->workers[i], grace);
    }
}

bool zoo_generation_finished(struct zoo_generation *g)
{
    for (size_t i = 0; i < g->n_workers; i++) {
        if (!zoo_worker_finished(g->workers[i])) {
            return false;
        }
    }
    return true;
}

void zoo_generation_free(struct zoo_generation *g)
{
    if (g == NULL) {
        return;
    }
    for (size_t i = 0; i < g->n_workers; i++) {
        zoo_worker_free(g->workers[i]); /* ends its connections, each with its event */
    }
    free(g->workers);
    for (size_t i = 0; i < g->n_ctxs; i++) {
        zoo_tls_ctx_free(g->ctxs[i]);
    }
    free(g->ctxs);
    zoo_catalog_cleanup(&g->catalog);
    free(g);
}
