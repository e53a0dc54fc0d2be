/* How a failed handshake ended, told from what the connection saw: a client
 * alert in the byte stream or from the TLS engine, our own alert, a close or
 * a reset. For our own refusals it says what the client offered that the
 * scenario does not allow. */
#ifndef ZOO_OUTCOME_H
#define ZOO_OUTCOME_H

#include <stdbool.h>

#include "hello.h"
#include "report.h"
#include "scenario.h"
#include "tls.h"

struct zoo_failure {
    const struct zoo_scenario *scenario;
    const struct zoo_hello *hello;
    const struct zoo_tls_info *tls;
    int plaintext_alert; /* a fatal alert seen in the client's records, or -1 */
    bool eof;            /* the client closed its side */
    bool reset;          /* the client reset the connection */
    bool server_spoke;   /* our first flight had gone out */
};

/* Fills R's result, stage, alert_code and detail. */
void zoo_outcome_failure(const struct zoo_failure *f, struct zoo_report *r);

#endif
