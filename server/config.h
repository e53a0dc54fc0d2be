/* Scenario files: YAML in, plain zoo_scenario structs out. Every problem is
 * reported as "file:line:column: message", one per line, and loading stops
 * before anything listens. The only module that includes <yaml.h>. */
#ifndef ZOO_CONFIG_H
#define ZOO_CONFIG_H

#include <stddef.h>

#include "scenario.h"

/* Loads one file into OUT (initialised here; the caller cleans it up, also
 * on failure). Returns 0, or ZOO_EINVAL/ZOO_EIO with all problems in ERR. */
int zoo_config_load_file(const char *path, struct zoo_scenario *out, char *err, size_t len);

/* The same for SIZE bytes of TEXT, reported as file NAME (relative paths in
 * it are resolved against NAME's directory). */
int zoo_config_load_string(const char *name, const char *text, size_t size,
                           struct zoo_scenario *out, char *err, size_t len);

/* Loads PATH: a directory (every *.yaml in it, by name) or a single file.
 * Checks that names and ports are unique across files. On success the
 * caller owns OUT (zoo_catalog_cleanup); on failure OUT is empty. */
int zoo_config_load(const char *path, struct zoo_catalog *out, char *err, size_t len);

#endif
