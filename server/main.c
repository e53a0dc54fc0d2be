/* The tlszoo command line: serve, list, explain, check, events. Exit status
 * 0 ok, 1 runtime failure, 2 bad input (usage or scenario files). */
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "server.h"
#include "tls.h"
#include "watch.h"

#define ZOO_VERSION "0.2.0"
#define ZOO_CONTROL_PORT 9399 /* moves with --port-offset like the scenarios */

struct options {
    char scenarios[PATH_MAX];
    char certs[PATH_MAX];
    const char *bind;
    int port_offset;
    struct zoo_limits limits;
    int grace;
    int json;
    const char *events_path;
    const char *keylog_path;
    int control_port; /* -1: default; -2: off */
    int follow;
    const char *scenario;
    unsigned long long since;
    int workers;
};

static const char usage_text[] =
    "Usage: tlszoo COMMAND [OPTIONS]\n"
    "A zoo of deliberately broken TLS endpoints, one defect each.\n\n"
    "Commands:\n"
    "  serve            serve every scenario (default command)\n"
    "  list [--json]    show the catalog; --json prints the machine-readable manifest\n"
    "  explain NAME     what is wrong with one scenario, how to diagnose and fix it\n"
    "  check            validate the scenario files and exit\n"
    "  events           print what clients did, read from a running server's control API\n"
    "                   [--follow] [--scenario NAME] [--since ID] [--json]\n\n"
    "Options:\n"
    "  --scenarios PATH         scenario directory or file (default: scenarios/ next to the "
    "binary)\n"
    "  --certs DIR              where the PKI is kept (default: certs/ next to the binary)\n"
    "  --bind ADDR              listen address (default 127.0.0.1)\n"
    "  --port-offset N          move every scenario port by N (e.g. for tests)\n"
    "  --handshake-timeout SEC  cut off clients that do not finish in time (default 10)\n"
    "  --idle-timeout SEC       wait for the request, and for the client's close (default 5)\n"
    "  --max-connections N      open at once; more are closed at once (default 10000)\n"
    "  --max-hello BYTES        largest first flight before the ClientHello is whole "
    "(default 69632)\n"
    "  --grace SEC              time open connections get at shutdown (default 5)\n"
    "  --workers N              event loop threads (default: one per core)\n"
    "  --events FILE            append JSON events to FILE (default: standard output)\n"
    "  --keylog FILE            append NSS key log lines (Wireshark can decrypt captures)\n"
    "  --control-port N|off     read-only control API port (default 9399, moved by the "
    "offset)\n"
    "  --json                   JSON output (list, events)\n"
    "  -h, --help               this help;  -V, --version  the version\n\n"
    "Exit status: 0 ok, 1 runtime failure, 2 bad input (file:line:column: message).\n"
    "Start with: tlszoo serve, then curl --cacert certs/ca.pem "
    "https://valid.tlszoo.localhost:9400/\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tlszoo: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'tlszoo --help'.\n");
    return 2;
}

/* The directory holding the tlszoo binary, so defaults work from anywhere. */
static void home_path(const char *name, char *buf, size_t len)
{
    static const char asan_dir[] = "/build/asan";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n <= 0) {
        snprintf(buf, len, "%s", name);
        return;
    }
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    *slash = '\0';
    /* The sanitizer build, build/asan/tlszoo, serves the repository's files too. */
    if (strlen(exe) > strlen(asan_dir) &&
        strcmp(exe + strlen(exe) - strlen(asan_dir), asan_dir) == 0) {
        exe[strlen(exe) - strlen(asan_dir)] = '\0';
    }
    snprintf(buf, len, "%s/%s", exe, name);
}

static int parse_int(const char *arg, const char *what, int min, int max, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "tlszoo: %s must be a number from %d to %d, not '%s'\n", what, min, max,
                arg);
        return 2;
    }
    *out = (int)v;
    return 0;
}

/* Options that take a whole number, stored at OFFSET in struct options. */
static const struct {
    int code;
    const char *name;
    int min, max;
    size_t offset;
} int_options[] = {
    {'o', "--port-offset", -65535, 65535, offsetof(struct options, port_offset)},
    {'t', "--handshake-timeout", 1, 3600, offsetof(struct options, limits.handshake_timeout)},
    {'I', "--idle-timeout", 1, 3600, offsetof(struct options, limits.idle_timeout)},
    {'M', "--max-connections", 1, 1000000, offsetof(struct options, limits.max_connections)},
    {'H', "--max-hello", 512, 1 << 20, offsetof(struct options, limits.max_hello)},
    {'g', "--grace", 0, 3600, offsetof(struct options, grace)},
    {'w', "--workers", 1, 256, offsetof(struct options, workers)},
};

static void set_defaults(struct options *o)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    home_path("scenarios", o->scenarios, sizeof(o->scenarios));
    home_path("certs", o->certs, sizeof(o->certs));
    o->bind = "127.0.0.1";
    o->limits = (struct zoo_limits){
        .handshake_timeout = 10, .idle_timeout = 5, .max_hello = 69632, .max_connections = 10000};
    o->grace = 5;
    o->control_port = -1;
    o->workers = cores > 0 ? (int)cores : 1;
}

/* Applies one option C with argument ARG; returns 0 or the exit status. */
static int apply_option(struct options *o, int c, char *arg)
{
    char *end;

    for (size_t i = 0; i < sizeof(int_options) / sizeof(int_options[0]); i++) {
        if (int_options[i].code == c) {
            return parse_int(arg, int_options[i].name, int_options[i].min, int_options[i].max,
                             (int *)((char *)o + int_options[i].offset));
        }
    }
    switch (c) {
    case 's':
        snprintf(o->scenarios, sizeof(o->scenarios), "%s", arg);
        return 0;
    case 'c':
        snprintf(o->certs, sizeof(o->certs), "%s", arg);
        return 0;
    case 'b':
        o->bind = arg;
        return 0;
    case 'e':
        o->events_path = arg;
        return 0;
    case 'k':
        o->keylog_path = arg;
        return 0;
    case 'p':
        if (strcmp(arg, "off") == 0) {
            o->control_port = -2;
            return 0;
        }
        return parse_int(arg, "--control-port", 0, 65535, &o->control_port);
    case 'n':
        if (arg[strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-")] != '\0') {
            return usage_error("no scenario can be named '%s'", arg);
        }
        o->scenario = arg;
        return 0;
    case 'i':
        o->since = strtoull(arg, &end, 10);
        return *arg >= '0' && *arg <= '9' && *end == '\0'
                   ? 0
                   : usage_error("--since needs an event id, not '%s'", arg);
    }
    return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {{"scenarios", required_argument, 0, 's'},
                                          {"certs", required_argument, 0, 'c'},
                                          {"bind", required_argument, 0, 'b'},
                                          {"port-offset", required_argument, 0, 'o'},
                                          {"handshake-timeout", required_argument, 0, 't'},
                                          {"idle-timeout", required_argument, 0, 'I'},
                                          {"max-connections", required_argument, 0, 'M'},
                                          {"max-hello", required_argument, 0, 'H'},
                                          {"grace", required_argument, 0, 'g'},
                                          {"events", required_argument, 0, 'e'},
                                          {"keylog", required_argument, 0, 'k'},
                                          {"control-port", required_argument, 0, 'p'},
                                          {"follow", no_argument, 0, 'f'},
                                          {"scenario", required_argument, 0, 'n'},
                                          {"since", required_argument, 0, 'i'},
                                          {"workers", required_argument, 0, 'w'},
                                          {"json", no_argument, 0, 'j'},
                                          {"help", no_argument, 0, 'h'},
                                          {"version", no_argument, 0, 'V'},
                                          {0, 0, 0, 0}};
    int c, status;

    set_defaults(o);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hV", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (c == 'V') {
            printf("tlszoo %s\n", ZOO_VERSION);
            exit(0);
        }
        if (c == 'j' || c == 'f') {
            *(c == 'j' ? &o->json : &o->follow) = 1;
            continue;
        }
        if ((status = apply_option(o, c, optarg)) < 0) {
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (status != 0) {
            return status;
        }
    }
    return 0;
}

static int control_port(const struct options *o)
{
    if (o->control_port == -1) {
        return ZOO_CONTROL_PORT + o->port_offset;
    }
    return o->control_port == -2 ? -1 : o->control_port;
}

static int watch(const struct options *o)
{
    struct zoo_watch_options w = {o->bind,  control_port(o), o->scenario,
                                  o->since, o->follow,       o->json};

    if (w.port < 0) {
        return usage_error("%s", "events needs the control API: give its --control-port");
    }
    return zoo_watch_run(&w);
}

static int run(const char *command, const char *name, struct options *o)
{
    static char err[65536];
    struct zoo_catalog catalog;
    const struct zoo_scenario *s;
    int status = 0;

    if (zoo_catalog_load(o->scenarios, o->port_offset, &catalog, err, sizeof(err)) != 0) {
        fputs(err, stderr);
        return 2;
    }
    if (strcmp(command, "serve") == 0) {
        struct zoo_serve_options so = {
            o->scenarios,   o->port_offset,  o->certs, o->bind,    o->limits, o->events_path,
            o->keylog_path, control_port(o), 10000,    o->workers, o->grace};
        status = zoo_serve(&catalog, &so);
    } else if (strcmp(command, "list") == 0 && o->json) {
        status = zoo_catalog_print_json(&catalog, o->bind, o->certs, stdout) ? 1 : 0;
    } else if (strcmp(command, "list") == 0) {
        zoo_catalog_print_table(&catalog, o->bind, stdout);
    } else if (strcmp(command, "check") == 0) {
        printf("%zu scenarios OK\n", catalog.count);
    } else if ((s = zoo_catalog_find(&catalog, name)) != NULL) {
        zoo_catalog_explain(s, o->bind, stdout);
    } else {
        fprintf(stderr, "tlszoo: no scenario named '%s'; `tlszoo list` shows them all\n", name);
        status = 2;
    }
    zoo_catalog_cleanup(&catalog);
    return status;
}

int main(int argc, char **argv)
{
    static const char *const commands[] = {"serve", "list", "explain", "check", "events"};
    struct options o = {0};
    const char *command = "serve", *name = NULL;
    int status, known = 0;

    if ((status = parse_options(argc, argv, &o)) != 0) {
        return status;
    }
    if (optind < argc) {
        command = argv[optind++];
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        known |= strcmp(command, commands[i]) == 0;
    }
    if (!known) {
        return usage_error("unknown command '%s'", command);
    }
    if (strcmp(command, "explain") == 0) {
        if (optind >= argc) {
            return usage_error("%s needs a scenario NAME", "explain");
        }
        name = argv[optind++];
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (strcmp(command, "events") == 0) {
        return watch(&o);
    }
    if (zoo_tls_global_init() != 0) {
        fprintf(stderr, "tlszoo: wolfSSL_Init() failed\n");
        return 1;
    }
    status = run(command, name, &o);
    zoo_tls_global_cleanup();
    return status;
}
