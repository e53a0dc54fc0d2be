/* A small HTTP/1.0 client for the control API (GET only, loopback), and the
 * readable rendering of events. */
#include "watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "events.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static int connect_to(const char *host, int port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    struct timeval tv = {5, 0};
    char service[8];
    int fd;

    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &ai) != 0) {
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* GETs PATH; returns the HTTP status (or -1) and the parsed JSON body. */
static int get_json(const struct zoo_watch_options *o, const char *path, json_t **body)
{
    char req[1024], *resp = NULL, *start;
    size_t len = 0, cap = 0;
    ssize_t n;
    int fd = connect_to(o->host, o->port), status = -1;

    *body = NULL;
    if (fd < 0) {
        return -1;
    }
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, o->host);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    do {
        if (len + 4096 + 1 > cap) {
            char *grown = realloc(resp, cap = cap * 2 + 8192);
            if (grown == NULL) {
                break;
            }
            resp = grown;
        }
        n = read(fd, resp + len, cap - len - 1);
        len += n > 0 ? (size_t)n : 0;
    } while (n > 0);
    close(fd);
    if (resp != NULL) {
        resp[len] = '\0';
        if (sscanf(resp, "HTTP/1.%*d %d", &status) == 1 && (start = strstr(resp, "\r\n\r\n"))) {
            *body = json_loads(start + 4, 0, NULL);
        }
    }
    free(resp);
    return *body ? status : -1;
}

static void print_event(json_t *e)
{
    json_t *outcome = json_object_get(e, "outcome"), *hello = json_object_get(e, "client_hello");
    json_t *alert = json_object_get(outcome, "alert");
    const char *ja4 = json_string_value(json_object_get(hello, "ja4"));
    char result[128];

    if (alert != NULL) {
        snprintf(result, sizeof(result), "%s %s",
                 json_string_value(json_object_get(outcome, "result")),
                 json_string_value(json_object_get(alert, "name")));
    } else {
        snprintf(result, sizeof(result), "%s",
                 json_string_value(json_object_get(outcome, "result")));
    }
    printf("%-6" JSON_INTEGER_FORMAT " %s %-20s %-22s %-38s %-32s %-7s %s\n",
           json_integer_value(json_object_get(e, "id")),
           json_string_value(json_object_get(e, "time")),
           json_string_value(json_object_get(e, "scenario")),
           json_string_value(json_object_get(e, "peer")), ja4 ? ja4 : "-", result,
           json_string_value(json_object_get(e, "verdict")),
           json_string_value(json_object_get(e, "verdict_reason")));
}

#define ZOO_WATCH_PAGE 1000

/* Fetches and prints one page of events; returns the exit status and sets
 * *FULL when the page was full (more may be waiting). */
static int fetch(const struct zoo_watch_options *o, uint64_t *since, bool *full)
{
    char path[512];
    json_t *body, *e;
    size_t i;
    int status;

    snprintf(path, sizeof(path), "/api/events?since=%llu&limit=%d%s%s", (unsigned long long)*since,
             ZOO_WATCH_PAGE, o->scenario ? "&scenario=" : "", o->scenario ? o->scenario : "");
    status = get_json(o, path, &body);
    if (status != 200) {
        fprintf(stderr, "tlszoo: %s\n",
                status < 0 ? "cannot read the control API (is `tlszoo serve` running? "
                             "see --control-port)"
                           : json_string_value(json_object_get(body, "error")));
        json_decref(body);
        return status < 0 ? 1 : 2;
    }
    json_array_foreach(json_object_get(body, "events"), i, e)
    {
        if (o->json) {
            char *line = json_dumps(e, ZOO_EVENT_JSON_FLAGS);
            printf("%s\n", line ? line : "null");
            free(line);
        } else {
            print_event(e);
        }
    }
    *since = (uint64_t)json_integer_value(json_object_get(body, "next"));
    *full = json_array_size(json_object_get(body, "events")) == ZOO_WATCH_PAGE;
    json_decref(body);
    fflush(stdout);
    return 0;
}

int zoo_watch_run(const struct zoo_watch_options *o)
{
    uint64_t since = o->since;
    int status;

    if (!o->json) {
        printf("%-6s %-24s %-20s %-22s %-38s %-32s %-7s %s\n", "ID", "TIME", "SCENARIO", "PEER",
               "JA4", "OUTCOME", "VERDICT", "WHY");
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    while (!stop) {
        bool full;
        if ((status = fetch(o, &since, &full)) != 0) {
            return status;
        }
        if (!full && !o->follow) {
            break;
        }
        if (!full) {
            usleep(500 * 1000);
        }
    }
    return 0;
}
