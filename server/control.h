/* The read-only control API over HTTP (libevent's evhttp): the catalog, the
 * events, the verdicts and the CA certificate. */
#ifndef ZOO_CONTROL_H
#define ZOO_CONTROL_H

#include <jansson.h>

struct event_base;
struct zoo_events;
struct zoo_control;

/* Serves on ADDR:PORT (0: the kernel picks; *PORT is set to the real one).
 * CATALOG_JSON is the manifest (a reference is taken); CA_FILE is served as
 * /ca.pem. NULL on failure, with the reason in ERR. */
struct zoo_control *zoo_control_new(struct event_base *base, const char *addr, int *port,
                                    json_t *catalog_json, const char *ca_file,
                                    struct zoo_events *events, char *err, size_t len);
/* Serves CATALOG_JSON from now on (after a reload; a reference is taken). */
void zoo_control_set_catalog(struct zoo_control *c, json_t *catalog_json);

void zoo_control_free(struct zoo_control *c);

#endif
