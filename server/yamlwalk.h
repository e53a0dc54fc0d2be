/* Walking a libyaml document with positions, for the scenario schema.
 * Internal to the config module. */
#ifndef ZOO_YAMLWALK_H
#define ZOO_YAMLWALK_H

#include <yaml.h>

#include "schema.h"

struct zoo_yaml_walk {
    yaml_document_t *doc;
    struct zoo_scenario *s;
    struct zoo_diag *d;
};

struct zoo_yaml_key {
    const char *name;
    void (*set)(struct zoo_yaml_walk *l, yaml_node_t *value);
};

#define zoo_yaml_report(l, node, ...) zoo_diag_report((l)->d, zoo_yaml_mark(node), __VA_ARGS__)

/* The 1-based position of N. */
struct zoo_mark zoo_yaml_mark(const yaml_node_t *n);

/* N's text, or NULL with "WHAT must be a single value" reported. */
const char *zoo_yaml_scalar(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what);

/* Replaces *DST with a copy of N's text. */
void zoo_yaml_string(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what, char **dst);

/* The index of N's text among NAME(0..COUNT-1), or -1 with the options reported. */
int zoo_yaml_choose(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what,
                    const char *(*name)(int), int count);

/* Calls each key's setter; unknown keys are reported with a did-you-mean. */
void zoo_yaml_map(struct zoo_yaml_walk *l, yaml_node_t *map, const char *what,
                  const struct zoo_yaml_key *keys);

/* Calls ITEM for each entry of a list (a single value is a list of one). */
void zoo_yaml_list(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what,
                   void (*item)(struct zoo_yaml_walk *l, yaml_node_t *v));

#endif
