/* libFuzzer target for the scenario loader: each input is one scenario file, loaded from
 * memory with zoo_config_load_string and cleaned up, so a leak, an overflow of the error
 * buffer or a crash on any YAML shows. The contract of config.h is checked as well: success
 * leaves a named scenario and no message; failure always says "file:line:column: why". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "scenario.h"

#define check(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: contract broken: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* As a scenario under scenarios/ would be named; certificate.file paths resolve beside it. */
#define NAME "scenarios/fuzz.yaml"

/* Loads DATA with an error buffer of exactly ERRLEN heap bytes; returns the code. */
static int load(const uint8_t *data, size_t size, size_t errlen)
{
    struct zoo_scenario s;
    char *err = malloc(errlen);
    int rc;

    check(err != NULL);
    memset(err, 'x', errlen);
    rc = zoo_config_load_string(NAME, (const char *)data, size, &s, err, errlen);
    check(rc == 0 || rc == ZOO_EINVAL || rc == ZOO_EIO);
    check(memchr(err, '\0', errlen) != NULL);
    if (rc == 0) {
        check(err[0] == '\0');
        check(s.name != NULL && s.host != NULL && s.file != NULL);
        check(s.port >= 0 && s.port <= 65535);
        check(s.versions != 0);
    } else if (errlen > 64) {
        check(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
        check(strchr(err, '\n') != NULL);
    }
    zoo_scenario_cleanup(&s);
    free(err);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A roomy buffer as the server gives, then a cramped one: messages must be cut, not
     * written past the end, and the verdict must not depend on the room for messages. */
    int rc = load(data, size, 4096);
    check(load(data, size, 80) == rc);
    return 0;
}
