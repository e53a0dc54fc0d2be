/* `tlszoo events`: reads a running server's control API and prints one
 * readable line (or the JSON) per connection, optionally following new ones. */
#ifndef ZOO_WATCH_H
#define ZOO_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct zoo_watch_options {
    const char *host; /* control API address */
    int port;
    const char *scenario; /* NULL: all */
    uint64_t since;       /* events after this id */
    bool follow;          /* keep polling until interrupted */
    bool json;            /* print the events as JSON lines */
};

/* Returns the exit status: 0, 1 when the API cannot be read, 2 on a 400. */
int zoo_watch_run(const struct zoo_watch_options *o);

#endif
