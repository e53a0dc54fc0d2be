/* Verdicts. For a `reject` scenario, a client that completed the handshake
 * and sent data accepted the defect (FAIL); one that completed and sent
 * nothing may have checked late (SUSPECT); one that aborted passed. For an
 * `accept` scenario the reverse. Timeouts and garbage say nothing about the
 * client's judgement (SUSPECT). */
#include "verdict.h"

#include <stdio.h>

#include "alert.h"
#include "scenario.h"

const char *zoo_result_name(enum zoo_result r)
{
    static const char *const names[] = {"completed", "client_alert", "server_alert", "closed",
                                        "reset",     "timeout",      "malformed",    "refused"};
    return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

const char *zoo_stage_name(enum zoo_stage s)
{
    static const char *const names[] = {"client_hello", "handshake", "application"};
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *zoo_verdict_name(enum zoo_verdict v)
{
    static const char *const names[] = {"PASS", "FAIL", "SUSPECT"};
    return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

static const char *alert(const struct zoo_report *r)
{
    const char *name = zoo_alert_name(r->alert_code);
    return name ? name : "unknown";
}

/* What the client did, in words, for aborted connections. */
static void describe_abort(const struct zoo_report *r, char *buf, size_t len)
{
    const char *expected = r->scenario->expect.alert;

    switch (r->result) {
    case ZOO_RESULT_CLIENT_ALERT:
        snprintf(buf, len, "client sent alert %s%s%s%s", alert(r),
                 expected && zoo_alert_code(expected) != r->alert_code ? " (most clients send "
                                                                       : "",
                 expected && zoo_alert_code(expected) != r->alert_code ? expected : "",
                 expected && zoo_alert_code(expected) != r->alert_code ? ")" : "");
        break;
    case ZOO_RESULT_SERVER_ALERT:
        snprintf(buf, len, "server refused the client with alert %s: %s", alert(r), r->detail);
        break;
    case ZOO_RESULT_CLOSED:
        snprintf(buf, len, "client closed the connection during the %s without an alert",
                 r->stage == ZOO_STAGE_HELLO ? "ClientHello" : "handshake");
        break;
    default:
        snprintf(buf, len, "client reset the connection during the handshake");
        break;
    }
}

enum zoo_verdict zoo_verdict_judge(const struct zoo_report *r, char *why, size_t len)
{
    bool reject = r->scenario->expect.outcome == ZOO_OUTCOME_REJECT;
    const char *defect = r->scenario->summary ? r->scenario->summary : r->scenario->name;
    char abort[400];

    if ((r->result == ZOO_RESULT_CLOSED || r->result == ZOO_RESULT_RESET) && r->bytes_in == 0) {
        snprintf(why, len, "client connected and sent nothing (a port probe?)");
        return ZOO_VERDICT_SUSPECT;
    }
    if (r->server_stopped && r->result != ZOO_RESULT_COMPLETED) {
        snprintf(why, len, "the server stopped before the client finished the handshake");
        return ZOO_VERDICT_SUSPECT;
    }
    switch (r->result) {
    case ZOO_RESULT_COMPLETED:
        if (!reject) {
            snprintf(why, len, "handshake completed%s", r->app_data ? " and request answered" : "");
            return ZOO_VERDICT_PASS;
        }
        if (r->app_data) {
            snprintf(why, len, "client accepted the defect and sent data: %s", defect);
            return ZOO_VERDICT_FAIL;
        }
        snprintf(why, len,
                 "handshake completed but no data was sent; the client may have "
                 "rejected it only afterwards: %s",
                 defect);
        return ZOO_VERDICT_SUSPECT;
    case ZOO_RESULT_TIMEOUT:
        snprintf(why, len, "client neither finished nor aborted the handshake in time");
        return ZOO_VERDICT_SUSPECT;
    case ZOO_RESULT_MALFORMED:
        snprintf(why, len, "not a TLS client: %s", r->detail);
        return ZOO_VERDICT_SUSPECT;
    case ZOO_RESULT_REFUSED:
        snprintf(why, len, "the client was never heard: %s", r->detail);
        return ZOO_VERDICT_SUSPECT;
    default:
        break;
    }
    describe_abort(r, abort, sizeof(abort));
    if (reject) {
        snprintf(why, len, "refused as it should: %s", abort);
        return ZOO_VERDICT_PASS;
    }
    snprintf(why, len, "connection failed on an endpoint a correct client accepts: %s", abort);
    return ZOO_VERDICT_FAIL;
}
