/* Control API routes. Every answer is JSON except /ca.pem; bad query
 * parameters get 400 with {"error": ...}, unknown paths 404, anything but
 * GET 405. Nothing here changes state: the API is read-only. */
#include "control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "events.h"

#define ZOO_API_LIMIT_MAX 1000

struct zoo_control {
    struct evhttp *http;
    json_t *catalog;
    char *ca_file;
    struct zoo_events *events;
};

static void send_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));

    json_decref(body);
    if (buf == NULL || text == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
    } else {
        evbuffer_add_printf(buf, "%s\n", text);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, code, reason, buf);
    }
    free(text);
    if (buf != NULL) {
        evbuffer_free(buf);
    }
}

static void send_error(struct evhttp_request *req, int code, const char *reason,
                       const char *message)
{
    send_json(req, code, reason, json_pack("{s:s}", "error", message));
}

/* Parses an unsigned decimal query value; false if it is not one. */
static bool parse_u64(const char *text, uint64_t *out)
{
    char *end;

    if (text == NULL || *text < '0' || *text > '9') {
        return false;
    }
    errno = 0;
    *out = strtoull(text, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Checks that every parameter is one of ALLOWED (NULL-terminated). */
static const char *unknown_param(struct evkeyvalq *q, const char *const *allowed)
{
    for (struct evkeyval *kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        bool known = false;
        for (const char *const *a = allowed; *a != NULL; a++) {
            known |= strcmp(kv->key, *a) == 0;
        }
        if (!known) {
            return kv->key;
        }
    }
    return NULL;
}

static bool known_scenario(struct zoo_control *c, const char *name)
{
    size_t i;
    json_t *s;

    json_array_foreach(json_object_get(c->catalog, "scenarios"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0) {
            return true;
        }
    }
    return false;
}

static void get_events(struct zoo_control *c, struct evhttp_request *req, struct evkeyvalq *q)
{
    static const char *const allowed[] = {"scenario", "peer", "since", "limit", NULL};
    const char *scenario = evhttp_find_header(q, "scenario"), *bad = unknown_param(q, allowed);
    const char *since_text = evhttp_find_header(q, "since"),
               *limit_text = evhttp_find_header(q, "limit");
    uint64_t since = 0, limit = 100, next;
    char msg[200];
    json_t *list;

    if (bad != NULL) {
        snprintf(msg, sizeof(msg), "unknown parameter '%s' (use scenario, peer, since, limit)",
                 bad);
        send_error(req, HTTP_BADREQUEST, "Bad Request", msg);
        return;
    }
    if ((since_text && !parse_u64(since_text, &since)) ||
        (limit_text &&
         (!parse_u64(limit_text, &limit) || limit < 1 || limit > ZOO_API_LIMIT_MAX))) {
        snprintf(msg, sizeof(msg), "since must be an event id and limit a number from 1 to %d",
                 ZOO_API_LIMIT_MAX);
        send_error(req, HTTP_BADREQUEST, "Bad Request", msg);
        return;
    }
    if (scenario != NULL && !known_scenario(c, scenario)) {
        snprintf(msg, sizeof(msg), "unknown scenario '%.100s' (GET /api/scenarios lists them)",
                 scenario);
        send_error(req, HTTP_BADREQUEST, "Bad Request", msg);
        return;
    }
    list = zoo_events_query(c->events, scenario, evhttp_find_header(q, "peer"), since,
                            (size_t)limit, &next);
    send_json(req, HTTP_OK, "OK",
              json_pack("{s:o, s:I, s:I}", "events", list, "next", (json_int_t)next, "latest",
                        (json_int_t)zoo_events_latest(c->events)));
}

static void get_verdicts(struct zoo_control *c, struct evhttp_request *req, struct evkeyvalq *q)
{
    static const char *const allowed[] = {"last", NULL};
    const char *bad = unknown_param(q, allowed), *last_text = evhttp_find_header(q, "last");
    uint64_t last = 3;

    if (bad != NULL || (last_text && (!parse_u64(last_text, &last) || last > 5))) {
        send_error(req, HTTP_BADREQUEST, "Bad Request",
                   "the only parameter is last, a number from 0 to 5");
        return;
    }
    send_json(req, HTTP_OK, "OK",
              json_pack("{s:o}", "scenarios", zoo_events_verdicts(c->events, (size_t)last)));
}

static void get_ca(struct zoo_control *c, struct evhttp_request *req)
{
    struct evbuffer *buf = evbuffer_new();
    FILE *f = fopen(c->ca_file, "rb");
    char chunk[4096];
    size_t n;

    if (buf == NULL || f == NULL) {
        send_error(req, HTTP_INTERNAL, "Internal Server Error", "cannot read the CA certificate");
    } else {
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            evbuffer_add(buf, chunk, n);
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/x-pem-file");
        evhttp_send_reply(req, HTTP_OK, "OK", buf);
    }
    if (f != NULL) {
        fclose(f);
    }
    if (buf != NULL) {
        evbuffer_free(buf);
    }
}

static void route(struct evhttp_request *req, void *arg)
{
    struct zoo_control *c = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
    struct evkeyvalq q = {0};

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        send_error(req, 405, "Method Not Allowed", "the control API is read-only: use GET");
        return;
    }
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
        send_error(req, HTTP_BADREQUEST, "Bad Request", "malformed query string");
        return;
    }
    if (path != NULL && strcmp(path, "/api/events") == 0) {
        get_events(c, req, &q);
    } else if (path != NULL && strcmp(path, "/api/verdicts") == 0) {
        get_verdicts(c, req, &q);
    } else if (path != NULL && strcmp(path, "/api/scenarios") == 0) {
        json_incref(c->catalog);
        send_json(req, HTTP_OK, "OK", c->catalog);
    } else if (path != NULL && strcmp(path, "/ca.pem") == 0) {
        get_ca(c, req);
    } else {
        send_error(req, HTTP_NOTFOUND, "Not Found",
                   "unknown path; try /api/scenarios, /api/events, /api/verdicts or /ca.pem");
    }
    evhttp_clear_headers(&q);
}

struct zoo_control *zoo_control_new(struct event_base *base, const char *addr, int *port,
                                    json_t *catalog_json, const char *ca_file,
                                    struct zoo_events *events, char *err, size_t len)
{
    struct zoo_control *c = calloc(1, sizeof(*c));
    struct evhttp_bound_socket *sock;

    if (c == NULL || (c->http = evhttp_new(base)) == NULL ||
        (c->ca_file = strdup(ca_file)) == NULL) {
        snprintf(err, len, "control API: out of memory");
        zoo_control_free(c);
        return NULL;
    }
    c->catalog = json_incref(catalog_json);
    c->events = events;
    evhttp_set_gencb(c->http, route, c);
    evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    sock = evhttp_bind_socket_with_handle(c->http, addr, (ev_uint16_t)*port);
    if (sock == NULL) {
        snprintf(err, len, "control API: cannot listen on %s port %d: %s (use --control-port)",
                 addr, *port, strerror(errno));
        zoo_control_free(c);
        return NULL;
    }
    *port = zoo_addr_local_port(evhttp_bound_socket_get_fd(sock));
    return c;
}

void zoo_control_set_catalog(struct zoo_control *c, json_t *catalog_json)
{
    json_decref(c->catalog);
    c->catalog = json_incref(catalog_json);
}

void zoo_control_free(struct zoo_control *c)
{
    if (c == NULL) {
        return;
    }
    if (c->http != NULL) {
        evhttp_free(c->http);
    }
    json_decref(c->catalog);
    free(c->ca_file);
    free(c);
}
