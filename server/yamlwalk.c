/* Typed access to a libyaml document with positions: every helper reports
 * what is wrong at the node's line and column, and mappings are walked
 * against a table of keys that also yields the did-you-mean. */
#include "yamlwalk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zoo_diag_report(struct zoo_diag *d, struct zoo_mark m, const char *fmt, ...)
{
    va_list ap;
    int n;

    d->count++;
    if (d->buf == NULL || d->len < 2 || d->used + 2 >= d->len) {
        return;
    }
    if (m.line > 0) {
        n = snprintf(d->buf + d->used, d->len - d->used, "%s:%d:%d: ", d->file, m.line, m.column);
    } else {
        n = snprintf(d->buf + d->used, d->len - d->used, "%s: ", d->file);
    }
    if (n < 0 || d->used + (size_t)n + 2 >= d->len) {
        d->buf[d->used] = '\0';
        return;
    }
    d->used += (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(d->buf + d->used, d->len - d->used - 1, fmt, ap);
    va_end(ap);
    if (n > 0) {
        d->used += (size_t)n < d->len - d->used - 2 ? (size_t)n : d->len - d->used - 2;
    }
    d->buf[d->used++] = '\n';
    d->buf[d->used] = '\0';
}

struct zoo_mark zoo_yaml_mark(const yaml_node_t *n)
{
    return (struct zoo_mark){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

const char *zoo_yaml_scalar(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        zoo_yaml_report(l, n, "%s must be a single value, not a %s", what,
                        n->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

void zoo_yaml_string(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what, char **dst)
{
    const char *v = zoo_yaml_scalar(l, n, what);

    if (v == NULL) {
        return;
    }
    free(*dst);
    *dst = strdup(v);
}

/* Index of TEXT in NAMES (a table of N), or -1 with an error naming them all. */
int zoo_yaml_choose(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what,
                    const char *(*name)(int), int count)
{
    const char *v = zoo_yaml_scalar(l, n, what);
    char options[256] = "";

    if (v == NULL) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        if (strcmp(v, name(i)) == 0) {
            return i;
        }
        strncat(options, i ? ", " : "", sizeof(options) - strlen(options) - 1);
        strncat(options, name(i), sizeof(options) - strlen(options) - 1);
    }
    zoo_yaml_report(l, n, "unknown %s '%s' (expected one of: %s)", what, v, options);
    return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (lb >= 64) {
        return lb;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void zoo_yaml_map(struct zoo_yaml_walk *l, yaml_node_t *map, const char *what,
                  const struct zoo_yaml_key *keys)
{
    if (map->type != YAML_MAPPING_NODE) {
        zoo_yaml_report(l, map, "%s must be a mapping of keys", what);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const struct zoo_yaml_key *best = NULL, *match = NULL;
        const char *name = zoo_yaml_scalar(l, k, "a key");

        if (name == NULL) {
            continue;
        }
        for (const struct zoo_yaml_key *e = keys; e->name != NULL; e++) {
            if (strcmp(e->name, name) == 0) {
                match = e;
            } else if (edit_distance(e->name, name) <= 2 &&
                       (best == NULL ||
                        edit_distance(e->name, name) < edit_distance(best->name, name))) {
                best = e;
            }
        }
        if (match != NULL) {
            match->set(l, v);
        } else if (best != NULL) {
            zoo_yaml_report(l, k, "unknown key '%s' in %s (did you mean '%s'?)", name, what,
                            best->name);
        } else {
            zoo_yaml_report(l, k, "unknown key '%s' in %s", name, what);
        }
    }
}

void zoo_yaml_list(struct zoo_yaml_walk *l, yaml_node_t *n, const char *what,
                   void (*item)(struct zoo_yaml_walk *l, yaml_node_t *v))
{
    if (n->type == YAML_SCALAR_NODE) {
        item(l, n);
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        zoo_yaml_report(l, n, "%s must be a list", what);
        return;
    }
    if (n->data.sequence.items.start == n->data.sequence.items.top) {
        zoo_yaml_report(l, n, "%s must not be empty", what);
    }
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        item(l, yaml_document_get_node(l->doc, *i));
    }
}
