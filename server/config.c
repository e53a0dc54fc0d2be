/* Scenario file loader: reads files and directories into a catalog and
 * checks what spans files (unique names and ports). libyaml's document API
 * gives every node its start mark; schema.c turns a document into a scenario. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "error.h"
#include "schema.h"

/* Parses the document PARSER reads; reports a syntax error at its position. */
static int parse_document(yaml_parser_t *parser, yaml_document_t *doc, struct zoo_diag *d)
{
    if (yaml_parser_load(parser, doc)) {
        return 0;
    }
    zoo_diag_report(
        d,
        (struct zoo_mark){(int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1},
        "YAML syntax error: %s%s%s", parser->problem ? parser->problem : "unknown",
        parser->context ? " " : "", parser->context ? parser->context : "");
    return ZOO_EINVAL;
}

/* Fills OUT from DOC (already parsed, or not when PARSED is nonzero). */
static int apply(yaml_document_t *doc, int parsed, struct zoo_scenario *out, struct zoo_diag *d)
{
    yaml_node_t *root;

    if (parsed != 0) {
        return parsed;
    }
    root = yaml_document_get_root_node(doc);
    if (root == NULL) {
        zoo_diag_report(d, (struct zoo_mark){1, 1},
                        "empty scenario file (expected at least 'listen')");
    } else {
        zoo_schema_apply(doc, root, out, d);
    }
    yaml_document_delete(doc);
    return d->count ? ZOO_EINVAL : 0;
}

int zoo_config_load_file(const char *path, struct zoo_scenario *out, char *err, size_t len)
{
    struct zoo_diag d = {err, len, 0, 0, path};
    yaml_parser_t parser;
    yaml_document_t doc;
    FILE *f;
    int ret;

    if (len > 0) {
        err[0] = '\0';
    }
    zoo_scenario_init(out);
    out->file = strdup(path);
    if ((f = fopen(path, "rb")) == NULL) {
        zoo_diag_report(&d, (struct zoo_mark){0, 0}, "cannot open: %s", strerror(errno));
        return ZOO_EIO;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    ret = parse_document(&parser, &doc, &d);
    yaml_parser_delete(&parser);
    fclose(f);
    return apply(&doc, ret, out, &d);
}

int zoo_config_load_string(const char *name, const char *text, size_t size,
                           struct zoo_scenario *out, char *err, size_t len)
{
    struct zoo_diag d = {err, len, 0, 0, name};
    yaml_parser_t parser;
    yaml_document_t doc;
    int ret;

    if (len > 0) {
        err[0] = '\0';
    }
    zoo_scenario_init(out);
    out->file = strdup(name);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    ret = parse_document(&parser, &doc, &d);
    yaml_parser_delete(&parser);
    return apply(&doc, ret, out, &d);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the *.yaml files of DIR, sorted; the caller frees each and the array. */
static int list_dir(const char *dir, char ***out, size_t *n, struct zoo_diag *d)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t count = 0;

    if (dp == NULL) {
        zoo_diag_report(d, (struct zoo_mark){0, 0}, "cannot open directory: %s", strerror(errno));
        return ZOO_EIO;
    }
    while ((e = readdir(dp)) != NULL) {
        size_t nl = strlen(e->d_name);
        char **grown;
        if (nl < 6 || strcmp(e->d_name + nl - 5, ".yaml") != 0 || e->d_name[0] == '.') {
            continue;
        }
        grown = realloc(names, (count + 1) * sizeof(*names));
        if (grown == NULL) {
            break;
        }
        names = grown;
        if (asprintf(&names[count], "%s/%s", dir, e->d_name) < 0) {
            break;
        }
        count++;
    }
    closedir(dp);
    if (count > 0) {
        qsort(names, count, sizeof(*names), by_name);
    }
    *out = names;
    *n = count;
    return 0;
}

static void check_unique(struct zoo_catalog *c, struct zoo_diag *d)
{
    for (size_t i = 0; i < c->count; i++) {
        struct zoo_scenario *s = &c->items[i];
        for (size_t j = 0; j < i; j++) {
            struct zoo_scenario *o = &c->items[j];
            d->file = s->file;
            if (strcmp(s->name, o->name) == 0) {
                zoo_diag_report(d, (struct zoo_mark){1, 1},
                                "duplicate scenario name '%s' (also in %s)", s->name, o->file);
            }
            if (s->port != 0 && s->port == o->port &&
                strcmp(s->bind ? s->bind : "", o->bind ? o->bind : "") == 0) {
                zoo_diag_report(d, s->listen_mark, "port %d is already used by scenario '%s' (%s)",
                                s->port, o->name, o->file);
            }
        }
    }
}

int zoo_config_load(const char *path, struct zoo_catalog *out, char *err, size_t len)
{
    struct zoo_diag d = {err, len, 0, 0, path};
    struct stat st;
    char **files = NULL;
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    if (len > 0) {
        err[0] = '\0';
    }
    if (stat(path, &st) != 0) {
        zoo_diag_report(&d, (struct zoo_mark){0, 0}, "cannot read scenarios: %s", strerror(errno));
        return ZOO_EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        if (list_dir(path, &files, &n, &d) != 0) {
            return ZOO_EIO;
        }
    } else if ((files = malloc(sizeof(*files))) != NULL && (files[0] = strdup(path)) != NULL) {
        n = 1;
    }
    if (n == 0) {
        zoo_diag_report(&d, (struct zoo_mark){0, 0}, "no scenario files (*.yaml) found");
    }
    out->items = calloc(n ? n : 1, sizeof(*out->items));
    for (size_t i = 0; out->items != NULL && i < n; i++) {
        if (zoo_config_load_file(files[i], &out->items[out->count++], d.buf + d.used,
                                 d.len - d.used) != 0) {
            d.count++;
            d.used += strlen(d.buf + d.used);
        }
    }
    if (d.count == 0) {
        check_unique(out, &d);
    }
    for (size_t i = 0; i < n; i++) {
        free(files[i]);
    }
    free(files);
    if (d.count != 0 || out->items == NULL) {
        zoo_catalog_cleanup(out);
        return ZOO_EINVAL;
    }
    return 0;
}
