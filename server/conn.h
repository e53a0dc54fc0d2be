/* One client connection: bytes from the socket into our own buffer, the
 * ClientHello parsed before any TLS state exists, the handshake through the
 * TLS engine, one HTTP request answered, then closed. Every connection ends
 * in exactly one event. */
#ifndef ZOO_CONN_H
#define ZOO_CONN_H

#include <sys/socket.h>

struct event_base;
struct zoo_events;
struct zoo_scenario;
struct zoo_tls_ctx;

/* Bounds on what one client may take; every one is reported in events. */
struct zoo_limits {
    int handshake_timeout; /* seconds from accept to a completed handshake */
    int idle_timeout;      /* seconds waiting for the request, and for the FIN at the end */
    int max_hello;         /* bytes of first flight before the ClientHello must be whole */
    int max_connections;   /* open at once, over all workers; past it closed at once */
};

/* What every connection of one listener shares; owned by the server. */
struct zoo_endpoint {
    const struct zoo_scenario *scenario;
    struct zoo_tls_ctx *ctx;
    struct zoo_events *events;
    const struct zoo_limits *limits;
};

/* Takes over FD (closing it on any failure) and drives it to completion on
 * BASE. The connection frees itself when done. */
void zoo_conn_start(struct event_base *base, const struct zoo_endpoint *ep, int fd,
                    const struct sockaddr *peer, socklen_t peer_len);

/* Ends every open connection of the calling thread (at shutdown), each
 * with its event. */
void zoo_conn_close_all(void);

/* Connections open on the calling thread. */
int zoo_conn_count(void);

#endif
