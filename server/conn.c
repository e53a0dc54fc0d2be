/* The connection state machine. The socket is read into the connection's
 * own input buffer; the ClientHello is parsed from it before any TLS state
 * is allocated, then wolfSSL pulls the same bytes through callbacks, and
 * whatever it writes goes to an output buffer flushed when the socket
 * allows. States name what the connection waits for. */
#include "conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "events.h"
#include "hello.h"
#include "outcome.h"
#include "record.h"
#include "report.h"
#include "scenario.h"
#include "tls.h"

#define ZOO_REQUEST_MAX 8192

enum zoo_conn_state {
    ZOO_CONN_WANT_HELLO,
    ZOO_CONN_WANT_HANDSHAKE,
    ZOO_CONN_WANT_REQUEST,
    ZOO_CONN_WANT_FLUSH, /* response written; close once it is sent */
    ZOO_CONN_DONE,       /* outcome known; close once the output is sent */
    ZOO_CONN_WANT_EOF,   /* write side shut; waiting for the client to close */
};

struct buf {
    char *data;
    size_t len, cap;
};

struct zoo_conn {
    const struct zoo_endpoint *ep;
    int fd;
    enum zoo_conn_state state;
    struct event *ev_read, *ev_write, *ev_timer;
    struct zoo_hello *hello; /* filled only once hello_ok */
    bool hello_ok;
    struct zoo_tls *tls;
    struct buf in, out;
    size_t in_off; /* bytes of IN the TLS engine has consumed */
    bool eof;
    struct zoo_record_scan records;
    struct timespec started_mono;
    struct zoo_report report;
    bool handshake_done;
    bool reported;
    size_t request_len;
    struct zoo_conn *prev, *next; /* all open connections, for shutdown */
};

/* Each worker thread keeps its own connections; the limit counts them all. */
static _Thread_local struct zoo_conn *open_list;
static _Thread_local int open_here;
static atomic_int open_total;

static int buf_append(struct buf *b, const char *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (cap < b->len + len) {
            cap *= 2;
        }
        if ((grown = realloc(b->data, cap)) == NULL) {
            return -1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void buf_release(struct buf *b)
{
    free(b->data);
    *b = (struct buf){0};
}

static int conn_recv(void *arg, char *dst, int len)
{
    struct zoo_conn *c = arg;
    size_t avail = c->in.len - c->in_off;
    size_t n = avail < (size_t)len ? avail : (size_t)len;

    if (n == 0) {
        return c->eof ? -1 : 0;
    }
    memcpy(dst, c->in.data + c->in_off, n);
    c->in_off += n;
    if (c->in_off == c->in.len) {
        buf_release(&c->in);
        c->in_off = 0;
    }
    return (int)n;
}

static int conn_send(void *arg, const char *src, int len)
{
    struct zoo_conn *c = arg;
    return buf_append(&c->out, src, (size_t)len);
}

static double elapsed_ms(const struct zoo_conn *c)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - c->started_mono.tv_sec) * 1e3 +
           (double)(now.tv_nsec - c->started_mono.tv_nsec) / 1e6;
}

/* Settles the outcome once; later calls keep the first (errors are sticky). */
static void conclude(struct zoo_conn *c, enum zoo_result result, const char *detail)
{
    if (c->reported) {
        return;
    }
    c->reported = true;
    c->report.result = result;
    if (detail != NULL) {
        snprintf(c->report.detail, sizeof(c->report.detail), "%s", detail);
    }
    if (c->report.handshake_ms == 0) {
        c->report.handshake_ms = elapsed_ms(c);
    }
    c->state = ZOO_CONN_DONE;
}

/* Classifies a failed handshake from everything seen so far. */
static void conclude_failure(struct zoo_conn *c, bool reset)
{
    struct zoo_tls_info info = {.alert_received = -1, .alert_sent = -1};
    struct zoo_failure f = {.scenario = c->ep->scenario,
                            .hello = c->hello_ok ? c->hello : NULL,
                            .tls = &info,
                            .plaintext_alert = -1,
                            .eof = c->eof,
                            .reset = reset,
                            .server_spoke = c->report.bytes_out > 0};

    if (c->reported) {
        return;
    }
    if (c->tls != NULL) {
        zoo_tls_get_info(c->tls, &info);
    }
    if (c->records.alert_level == 2) {
        f.plaintext_alert = c->records.alert_code;
    }
    zoo_outcome_failure(&f, &c->report);
    conclude(c, c->report.result, NULL);
}

/* Settles an outcome not settled yet: after the handshake it is completed,
 * before it the failure is classified from what was seen. */
static void conclude_anyway(struct zoo_conn *c, bool reset)
{
    if (c->handshake_done) {
        conclude(c, ZOO_RESULT_COMPLETED, "connection ended before a complete request");
    } else {
        conclude_failure(c, reset);
    }
}

static void conn_free(struct zoo_conn *c)
{
    conclude_anyway(c, false);
    c->report.hello = c->hello_ok ? c->hello : NULL;
    zoo_events_emit(c->ep->events, &c->report);
    event_free(c->ev_read);
    event_free(c->ev_write);
    event_free(c->ev_timer);
    zoo_tls_free(c->tls);
    close(c->fd);
    free(c->hello);
    free(c->in.data);
    free(c->out.data);
    open_here--;
    atomic_fetch_sub(&open_total, 1);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        open_list = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    free(c);
}

int zoo_conn_count(void)
{
    return open_here;
}

void zoo_conn_close_all(void)
{
    while (open_list != NULL) {
        struct zoo_conn *c = open_list;
        c->report.server_stopped = true;
        if (!c->handshake_done) {
            c->report.stage = c->report.bytes_out ? ZOO_STAGE_HANDSHAKE : ZOO_STAGE_HELLO;
            conclude(c, ZOO_RESULT_CLOSED, "server stopped before the handshake finished");
        }
        conn_free(c);
    }
}

/* Sends what is buffered; returns -1 if the peer is gone. */
static int flush_out(struct zoo_conn *c)
{
    size_t sent = 0;

    while (sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + sent, c->out.len - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            return -1;
        }
        sent += (size_t)n;
    }
    if (sent > 0) {
        memmove(c->out.data, c->out.data + sent, c->out.len - sent);
        c->out.len -= sent;
        c->report.bytes_out += sent;
    }
    if (c->out.len == 0) {
        buf_release(&c->out); /* idle connections keep no buffers */
    }
    return 0;
}

static void hex_prefix(const char *data, size_t len, char *out, size_t cap)
{
    size_t n = len < (cap - 1) / 2 ? len : (cap - 1) / 2;

    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)data[i]);
    }
    out[2 * n] = '\0';
}

static enum zoo_conn_state on_hello(struct zoo_conn *c)
{
    struct zoo_tls_io io = {c, conn_recv, conn_send};
    char why[160];
    int st;

    if (c->hello == NULL && (c->hello = malloc(sizeof(*c->hello))) == NULL) {
        conclude(c, ZOO_RESULT_MALFORMED, "out of memory");
        return ZOO_CONN_DONE;
    }
    st = zoo_hello_parse((const uint8_t *)c->in.data, c->in.len, c->hello, why, sizeof(why));
    if (st == ZOO_HELLO_NEED_MORE && !c->eof) {
        return ZOO_CONN_WANT_HELLO;
    }
    if (st != ZOO_HELLO_OK) {
        hex_prefix(c->in.data, c->in.len, c->report.first_bytes, sizeof(c->report.first_bytes));
        free(c->hello);
        c->hello = NULL;
        if (st == ZOO_HELLO_NEED_MORE) { /* end of stream inside the hello */
            char detail[200];
            snprintf(detail, sizeof(detail), "client closed mid-ClientHello (%s)", why);
            c->report.stage = ZOO_STAGE_HELLO;
            conclude(c, c->in.len ? ZOO_RESULT_MALFORMED : ZOO_RESULT_CLOSED,
                     c->in.len ? detail : NULL);
        } else {
            conclude(c, ZOO_RESULT_MALFORMED, why);
        }
        return ZOO_CONN_DONE;
    }
    c->hello_ok = true;
    if ((c->tls = zoo_tls_new(c->ep->ctx, &io)) == NULL) {
        conclude(c, ZOO_RESULT_MALFORMED, "out of memory");
        return ZOO_CONN_DONE;
    }
    return ZOO_CONN_WANT_HANDSHAKE;
}

static enum zoo_conn_state on_handshake(struct zoo_conn *c)
{
    struct zoo_tls_info info;
    struct timeval idle = {c->ep->limits->idle_timeout, 0};
    int st = zoo_tls_handshake(c->tls);

    if (st == ZOO_TLS_WANT_READ && !c->eof) {
        return ZOO_CONN_WANT_HANDSHAKE;
    }
    if (st != ZOO_TLS_OK) {
        conclude_failure(c, false);
        return ZOO_CONN_DONE;
    }
    c->report.handshake_ms = elapsed_ms(c);
    zoo_tls_get_info(c->tls, &info);
    memcpy(c->report.version, info.version, sizeof(info.version));
    memcpy(c->report.cipher, info.cipher, sizeof(info.cipher));
    memcpy(c->report.alpn, info.alpn, sizeof(info.alpn));
    memcpy(c->report.client_subject, info.client_subject, sizeof(info.client_subject));
    memcpy(c->report.client_issuer, info.client_issuer, sizeof(info.client_issuer));
    c->report.stage = ZOO_STAGE_APPLICATION;
    c->handshake_done = true;
    evtimer_add(c->ev_timer, &idle); /* the request must come within the idle timeout */
    return ZOO_CONN_WANT_REQUEST;
}

static void respond(struct zoo_conn *c)
{
    const struct zoo_scenario *s = c->ep->scenario;
    char body[1024], head[256];
    int n, m;

    n = snprintf(body, sizeof(body),
                 "tlszoo scenario '%s': %s\n"
                 "A correct client should %s this endpoint.\n"
                 "Run `tlszoo explain %s` for what is wrong and how to fix it.\n",
                 s->name, s->summary ? s->summary : "",
                 s->expect.outcome == ZOO_OUTCOME_REJECT ? "REJECT" : "accept", s->name);
    m = snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %d\r\nConnection: close\r\nX-Tlszoo-Scenario: %s\r\n\r\n",
                 n, s->name);
    if (zoo_tls_write(c->tls, head, (size_t)m) == ZOO_TLS_OK &&
        zoo_tls_write(c->tls, body, (size_t)n) == ZOO_TLS_OK) {
        zoo_tls_close(c->tls);
    }
}

static enum zoo_conn_state on_request(struct zoo_conn *c)
{
    char buf[2048];
    size_t got;
    int st;

    while ((st = zoo_tls_read(c->tls, buf, sizeof(buf), &got)) == ZOO_TLS_OK) {
        bool end = memmem(buf, got, "\r\n\r\n", 4) != NULL || memmem(buf, got, "\n\n", 2);
        c->report.app_data = true;
        c->request_len += got;
        if (end || c->request_len >= ZOO_REQUEST_MAX) {
            respond(c);
            conclude(c, ZOO_RESULT_COMPLETED, NULL);
            return ZOO_CONN_WANT_FLUSH;
        }
    }
    if (st == ZOO_TLS_WANT_READ && !c->eof) {
        return ZOO_CONN_WANT_REQUEST;
    }
    conclude(c, ZOO_RESULT_COMPLETED, c->report.app_data ? "client closed mid-request" : NULL);
    return ZOO_CONN_DONE;
}

/* Runs the state machine as far as the buffered input allows. */
static void step(struct zoo_conn *c)
{
    enum zoo_conn_state next;

    do {
        switch (c->state) {
        case ZOO_CONN_WANT_HELLO:
            next = on_hello(c);
            break;
        case ZOO_CONN_WANT_HANDSHAKE:
            next = on_handshake(c);
            break;
        case ZOO_CONN_WANT_REQUEST:
            next = on_request(c);
            break;
        case ZOO_CONN_WANT_FLUSH:
        case ZOO_CONN_DONE:
        case ZOO_CONN_WANT_EOF:
            return;
        default:
            fprintf(stderr, "tlszoo: bug: connection in unknown state %d\n", c->state);
            abort();
        }
        if (next == c->state) {
            return;
        }
        c->state = next;
    } while (true);
}

/* Waits for the client's FIN before closing: closing with unread input
 * would send a TCP reset, which can destroy our last alert before the
 * client reads it (RFC 1122 §4.2.2.13). */
static void linger(struct zoo_conn *c)
{
    struct timeval tv = {c->ep->limits->idle_timeout, 0};

    if (c->eof || shutdown(c->fd, SHUT_WR) != 0) {
        conn_free(c);
        return;
    }
    c->state = ZOO_CONN_WANT_EOF;
    evtimer_add(c->ev_timer, &tv);
}

/* After any progress: flush, then free or wait for the socket. */
static void settle(struct zoo_conn *c)
{
    if (flush_out(c) != 0) {
        conclude_anyway(c, true);
        conn_free(c);
        return;
    }
    if (c->out.len > 0) {
        event_add(c->ev_write, NULL);
        return;
    }
    if (c->state == ZOO_CONN_DONE || c->state == ZOO_CONN_WANT_FLUSH) {
        linger(c);
    }
}

/* Reads what the socket has into IN; false when the connection is over. */
static bool read_input(struct zoo_conn *c, int fd)
{
    char buf[16384];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;
    }
    if (n < 0) {
        conclude_anyway(c, true);
        conn_free(c);
        return false;
    }
    if (n == 0) {
        c->eof = true;
        event_del(c->ev_read);
        return true;
    }
    c->report.bytes_in += (uint64_t)n;
    zoo_record_scan_feed(&c->records, (const unsigned char *)buf, (size_t)n);
    if (c->in.len - c->in_off + (size_t)n > (size_t)c->ep->limits->max_hello ||
        buf_append(&c->in, buf, (size_t)n) != 0) {
        char why[128];
        snprintf(why, sizeof(why), "client sent more than %d unread bytes (limit --max-hello)",
                 c->ep->limits->max_hello);
        if (!c->handshake_done) {
            hex_prefix(c->in.data, c->in.len, c->report.first_bytes, sizeof(c->report.first_bytes));
        }
        conclude(c, c->handshake_done ? ZOO_RESULT_COMPLETED : ZOO_RESULT_MALFORMED, why);
    }
    return true;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct zoo_conn *c = arg;
    char sink[4096];

    (void)what;
    if (c->state == ZOO_CONN_WANT_EOF) {
        ssize_t n = recv(fd, sink, sizeof(sink), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_free(c);
        }
        return;
    }
    if (!read_input(c, fd)) {
        return;
    }
    step(c);
    settle(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    settle(arg);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct zoo_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == ZOO_CONN_WANT_EOF) {
        conn_free(c);
        return;
    }
    if (c->state == ZOO_CONN_WANT_REQUEST) {
        conclude(c, ZOO_RESULT_COMPLETED, "no request before the timeout");
    } else {
        c->report.stage = c->report.bytes_out ? ZOO_STAGE_HANDSHAKE : ZOO_STAGE_HELLO;
        conclude(c, ZOO_RESULT_TIMEOUT,
                 c->state == ZOO_CONN_WANT_HELLO ? "no complete ClientHello in time"
                                                 : "handshake not finished in time");
    }
    conn_free(c);
}

/* Past the connection limit: one event, and the socket closed at once. */
static void refuse(const struct zoo_endpoint *ep, int fd, const struct sockaddr *peer)
{
    struct zoo_report r = {.scenario = ep->scenario, .result = ZOO_RESULT_REFUSED};

    clock_gettime(CLOCK_REALTIME, &r.started);
    zoo_addr_format(peer, r.peer, sizeof(r.peer));
    snprintf(r.detail, sizeof(r.detail),
             "server at its limit of %d open connections "
             "(--max-connections)",
             ep->limits->max_connections);
    close(fd);
    zoo_events_emit(ep->events, &r);
}

void zoo_conn_start(struct event_base *base, const struct zoo_endpoint *ep, int fd,
                    const struct sockaddr *peer, socklen_t peer_len)
{
    struct zoo_conn *c;
    struct timeval tv = {ep->limits->handshake_timeout, 0};

    (void)peer_len;
    if (atomic_fetch_add(&open_total, 1) >= ep->limits->max_connections) {
        atomic_fetch_sub(&open_total, 1);
        refuse(ep, fd, peer);
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        atomic_fetch_sub(&open_total, 1);
        close(fd);
        return;
    }
    open_here++;
    c->next = open_list;
    if (open_list != NULL) {
        open_list->prev = c;
    }
    open_list = c;
    c->ep = ep;
    c->fd = fd;
    c->report.scenario = ep->scenario;
    clock_gettime(CLOCK_REALTIME, &c->report.started);
    clock_gettime(CLOCK_MONOTONIC, &c->started_mono);
    zoo_addr_format(peer, c->report.peer, sizeof(c->report.peer));
    /* The listener hands sockets over non-blocking already (accept4). */
    c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->ev_write = event_new(base, fd, EV_WRITE, on_writable, c);
    c->ev_timer = evtimer_new(base, on_timeout, c);
    if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL) {
        conclude(c, ZOO_RESULT_MALFORMED, "out of memory");
        conn_free(c);
        return;
    }
    event_add(c->ev_read, NULL);
    evtimer_add(c->ev_timer, &tv);
}
