/* The scenario file schema: which keys exist, their types and defaults, and
 * the checks that span keys. Internal to the config module. */
#ifndef ZOO_SCHEMA_H
#define ZOO_SCHEMA_H

#include <stddef.h>
#include <yaml.h>

#include "scenario.h"

/* Collected problems: "file:line:column: message" lines in BUF. */
struct zoo_diag {
    char *buf;
    size_t len;
    size_t used;
    int count;
    const char *file;
};

/* Appends one problem at M (line 0: no position) and counts it. */
void zoo_diag_report(struct zoo_diag *d, struct zoo_mark m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills S from the document's ROOT mapping, reporting every problem to D. */
void zoo_schema_apply(yaml_document_t *doc, yaml_node_t *root, struct zoo_scenario *s,
                      struct zoo_diag *d);

#endif
