/* A worker: one thread with its own event loop and its own SO_REUSEPORT
 * listener on every scenario port, so the kernel spreads connections over
 * the workers. Scenarios and TLS contexts are shared read-only; the event
 * log locks itself. */
#ifndef ZOO_WORKER_H
#define ZOO_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "scenario.h"

struct zoo_events;
struct zoo_tls_ctx;
struct zoo_worker;

struct zoo_worker_config {
    const struct zoo_catalog *catalog; /* ports already resolved */
    struct zoo_tls_ctx *const *ctxs;   /* one per scenario, same order */
    struct zoo_events *events;
    const char *bind;
    const struct zoo_limits *limits;
};

/* Binds and listens on every scenario port. NULL on failure, with ERR. */
struct zoo_worker *zoo_worker_new(const struct zoo_worker_config *cfg, char *err, size_t len);

/* Runs the worker's loop on a new thread. 0 or ZOO_ENOMEM. */
int zoo_worker_start(struct zoo_worker *w);

/* Asks the worker to stop accepting and to let open connections finish for
 * GRACE seconds, then end the rest (each with its event). Returns at once. */
void zoo_worker_stop(struct zoo_worker *w, int grace);

/* Whether the worker's thread has ended (after a stop). */
bool zoo_worker_finished(struct zoo_worker *w);

/* Stops the worker if needed, waits for its thread, frees it. */
void zoo_worker_free(struct zoo_worker *w);

/* Opens a listening socket for S on ADDR:PORT, shared with the other workers
 * when REUSEPORT. Returns the socket or -1 with "file:line:column: ..." in ERR. */
int zoo_worker_listen(const struct zoo_scenario *s, const char *addr, int port, int reuseport,
                      char *err, size_t len);

#endif
