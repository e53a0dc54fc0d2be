/* Times in scenario files: relative to "now" ("-30d", "+1h", "90d") so that
 * nothing rots, or absolute in RFC 3339 ("2030-01-01T00:00:00Z"). */
#ifndef ZOO_RELTIME_H
#define ZOO_RELTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct zoo_when {
    bool relative; /* value is seconds from now, else seconds since the epoch */
    int64_t value;
};

/* Parses TEXT into *OUT. Returns 0, or ZOO_EINVAL with a reason in ERR. */
int zoo_when_parse(const char *text, struct zoo_when *out, char *err, size_t len);

/* The absolute time WHEN denotes at time NOW. */
time_t zoo_when_resolve(const struct zoo_when *when, time_t now);

#endif
