/* A generation: one loaded set of scenarios with its TLS contexts and the
 * workers serving it. A reload starts a new generation beside the old one
 * (SO_REUSEPORT lets both listen on a port), then retires the old one,
 * whose connections finish on the scenarios they started with. */
#ifndef ZOO_GENERATION_H
#define ZOO_GENERATION_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "scenario.h"

struct zoo_events;
struct zoo_generation;

struct zoo_generation_config {
    const char *certs;
    const char *bind;
    const struct zoo_limits *limits;
    int workers;
    struct zoo_events *events;
};

/* Takes CATALOG over (the caller's is left empty), checks the ports PREV
 * (may be NULL) does not already serve, mints, builds contexts and starts
 * the workers. NULL on failure, with ERR; *BAD_INPUT says whether the
 * failure is the user's (a port taken: exit status 2). */
struct zoo_generation *zoo_generation_start(struct zoo_catalog *catalog,
                                            const struct zoo_generation *prev,
                                            const struct zoo_generation_config *cfg, char *err,
                                            size_t len, bool *bad_input);

const struct zoo_catalog *zoo_generation_catalog(const struct zoo_generation *g);

/* Asks every worker to stop accepting and drain for GRACE seconds. */
void zoo_generation_stop(struct zoo_generation *g, int grace);

/* Whether every worker has ended. */
bool zoo_generation_finished(struct zoo_generation *g);

/* Stops (without grace) if needed, joins the workers, frees everything. */
void zoo_generation_free(struct zoo_generation *g);

#endif
