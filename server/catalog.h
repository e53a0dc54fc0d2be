/* The catalog as the user sees it: loaded and checked scenarios, printed as
 * a table, as JSON (the machine-readable manifest) or explained one by one. */
#ifndef ZOO_CATALOG_H
#define ZOO_CATALOG_H

#include <jansson.h>
#include <stdio.h>

#include "scenario.h"

/* Loads and fully checks PATH (directory or file), then moves every port by
 * PORT_OFFSET. 0, or ZOO_EINVAL/ZOO_EIO with "file:line:column: message"
 * lines in ERR. The caller owns OUT (zoo_catalog_cleanup). */
int zoo_catalog_load(const char *path, int port_offset, struct zoo_catalog *out, char *err,
                     size_t len);

/* The address a scenario listens on, given the server's default BIND. */
const char *zoo_catalog_bind(const struct zoo_scenario *s, const char *bind);

/* One row per scenario: name, URL, defect, what a correct client does. */
void zoo_catalog_print_table(const struct zoo_catalog *c, const char *bind, FILE *out);

/* The manifest with absolute certificate paths under CERTS: a new object,
 * NULL when out of memory. */
json_t *zoo_catalog_json(const struct zoo_catalog *c, const char *bind, const char *certs);

/* The manifest, printed. 0, ZOO_ENOMEM or ZOO_EIO. */
int zoo_catalog_print_json(const struct zoo_catalog *c, const char *bind, const char *certs,
                           FILE *out);

/* Everything a teacher wants to say about one scenario. */
void zoo_catalog_explain(const struct zoo_scenario *s, const char *bind, FILE *out);

#endif
