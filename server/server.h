/* The daemon: binds a listener per scenario, mints certificates, builds TLS
 * contexts, prints the banner and runs the event loop until a signal. */
#ifndef ZOO_SERVER_H
#define ZOO_SERVER_H

#include "conn.h"
#include "scenario.h"

struct zoo_serve_options {
    const char *scenarios; /* directory or file, read again on SIGHUP */
    int port_offset;
    const char *certs; /* PKI directory */
    const char *bind;  /* default listen address */
    struct zoo_limits limits;
    const char *events_path; /* NULL: standard output */
    const char *keylog_path; /* NULL: no key log */
    int control_port;        /* 0: the kernel picks; negative: no control API */
    size_t ring;             /* events kept for the control API */
    int workers;             /* threads, each with its own loop and listeners */
    int grace;               /* seconds open connections get at shutdown */
};

/* Serves CATALOG (taken over: the caller's is left empty) until SIGINT or
 * SIGTERM. Returns the exit status: 0 after a clean stop, 1 on a runtime
 * failure, 2 when a port is taken. */
int zoo_serve(struct zoo_catalog *catalog, const struct zoo_serve_options *o);

#endif
