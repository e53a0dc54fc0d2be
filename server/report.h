/* What one connection did, as plain data: filled by the connection, judged
 * by the verdict module, written out by the events module. */
#ifndef ZOO_REPORT_H
#define ZOO_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct zoo_hello;
struct zoo_scenario;

/* How the connection ended: exactly one per connection. */
enum zoo_result {
    ZOO_RESULT_COMPLETED,    /* handshake done (with or without application data) */
    ZOO_RESULT_CLIENT_ALERT, /* the client sent a fatal alert */
    ZOO_RESULT_SERVER_ALERT, /* we refused the client with a fatal alert */
    ZOO_RESULT_CLOSED,       /* FIN during the handshake, no alert */
    ZOO_RESULT_RESET,        /* connection reset */
    ZOO_RESULT_TIMEOUT,      /* the client was too slow */
    ZOO_RESULT_MALFORMED,    /* not TLS, or a broken ClientHello */
    ZOO_RESULT_REFUSED,      /* closed at once: the server was at its connection limit */
};

/* Where in the conversation an alert or close came. */
enum zoo_stage {
    ZOO_STAGE_HELLO,       /* before our first flight */
    ZOO_STAGE_HANDSHAKE,   /* after our first flight, before the handshake completed */
    ZOO_STAGE_APPLICATION, /* after the handshake */
};

struct zoo_report {
    const struct zoo_scenario *scenario;
    char peer[64];
    struct timespec started;       /* wall clock */
    double handshake_ms;           /* from the first byte to handshake completion, or to the end */
    const struct zoo_hello *hello; /* NULL if no ClientHello was parsed */
    enum zoo_result result;
    enum zoo_stage stage;
    int alert_code;       /* for client_alert and server_alert */
    char detail[256];     /* why: the server's reason, the parse error, ... */
    char first_bytes[65]; /* hex of the first bytes received, for malformed */
    char version[16];     /* negotiated, when the handshake completed */
    char cipher[64];
    char alpn[64];
    char client_subject[256]; /* client certificate (mTLS), if any */
    char client_issuer[256];
    bool app_data;       /* the client sent application data */
    bool server_stopped; /* cut off by our shutdown, not by the client */
    uint64_t bytes_in, bytes_out;
};

const char *zoo_result_name(enum zoo_result r);
const char *zoo_stage_name(enum zoo_stage s);

#endif
