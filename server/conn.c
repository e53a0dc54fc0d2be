/* The connection state machine. The socket is read into the connection's
 * own input buffer and wolfSSL pulls from it through callbacks; whatever
 * wolfSSL writes goes to an output buffer flushed when the socket allows.
 * States name what the connection waits for. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alert.h"
#include "record.h"
#include "scenario.h"
#include "tls.h"

#define ZOO_IN_MAX (64 * 1024)  /* more unconsumed input than this is hostile */
#define ZOO_REQUEST_MAX 8192

enum zoo_conn_state {
    ZOO_CONN_WANT_HANDSHAKE,
    ZOO_CONN_WANT_REQUEST,
    ZOO_CONN_WANT_FLUSH, /* response written; close once it is sent */
    ZOO_CONN_DONE,       /* outcome known; close once the output is sent */
    ZOO_CONN_WANT_EOF,   /* write side shut; waiting for the client to close */
};

/* How long a finished connection waits for the client's FIN. Closing with
 * unread input would send a TCP reset, which can destroy our last alert
 * before the client reads it (RFC 1122 §4.2.2.13). */
#define ZOO_LINGER_SECONDS 2

struct buf {
    char *data;
    size_t len, cap;
};

struct zoo_conn {
    const struct zoo_endpoint *ep;
    int fd;
    char peer[64];
    enum zoo_conn_state state;
    struct event *ev_read, *ev_write, *ev_timer;
    struct zoo_tls *tls;
    struct buf in, out;
    struct zoo_record_scan records;
    size_t bytes_in;
    size_t in_off;
    bool eof;
    size_t request_len;
    char outcome[256];
    struct zoo_conn *prev, *next; /* all open connections, for shutdown */
};

static struct zoo_conn *open_list;

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
        c->in.len = c->in_off = 0;
    }
    return (int)n;
}

static int conn_send(void *arg, const char *src, int len)
{
    struct zoo_conn *c = arg;
    return buf_append(&c->out, src, (size_t)len);
}

static void finish(struct zoo_conn *c, const char *outcome)
{
    if (c->outcome[0] == '\0') {
        snprintf(c->outcome, sizeof(c->outcome), "%s", outcome);
    }
    c->state = ZOO_CONN_DONE;
}

static void conn_free(struct zoo_conn *c)
{
    printf("%-22s %-22s %s\n", c->ep->scenario->name, c->peer, c->outcome);
    fflush(stdout);
    event_free(c->ev_read);
    event_free(c->ev_write);
    event_free(c->ev_timer);
    zoo_tls_free(c->tls);
    close(c->fd);
    free(c->in.data);
    free(c->out.data);
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

void zoo_conn_close_all(const char *why)
{
    while (open_list != NULL) {
        finish(open_list, why);
        conn_free(open_list);
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
    }
    return 0;
}

/* Says why the connection failed: a client alert seen in the byte stream
 * comes first (it explains what follows), then a close by the client, then
 * whatever the TLS engine reports. */
static void fail(struct zoo_conn *c, const char *what)
{
    char why[200];
    const char *alert = zoo_alert_name(c->records.alert_code);

    if (c->records.alert_level == 2) {
        snprintf(why, sizeof(why), "client sent alert %s", alert ? alert : "(unknown)");
    } else if (c->eof) {
        snprintf(why, sizeof(why), "closed by client%s",
                 c->bytes_in ? "" : " before sending anything");
    } else {
        zoo_tls_describe(c->tls, why, sizeof(why));
    }
    snprintf(c->outcome, sizeof(c->outcome), "%s: %s", what, why);
    c->state = ZOO_CONN_DONE;
}

static enum zoo_conn_state on_handshake(struct zoo_conn *c)
{
    char what[200];
    int st = zoo_tls_handshake(c->tls);

    if (st == ZOO_TLS_WANT_READ && !c->eof) {
        return ZOO_CONN_WANT_HANDSHAKE;
    }
    if (st != ZOO_TLS_OK) {
        fail(c, "handshake failed");
        return ZOO_CONN_DONE;
    }
    zoo_tls_describe(c->tls, what, sizeof(what));
    snprintf(c->outcome, sizeof(c->outcome), "handshake completed (%s), no request", what);
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
    if (zoo_tls_write(c->tls, head, (size_t)m) != ZOO_TLS_OK ||
        zoo_tls_write(c->tls, body, (size_t)n) != ZOO_TLS_OK) {
        fail(c, "response failed");
        return;
    }
    zoo_tls_close(c->tls);
}

static enum zoo_conn_state on_request(struct zoo_conn *c)
{
    char buf[2048], what[200];
    size_t got;
    int st;

    while ((st = zoo_tls_read(c->tls, buf, sizeof(buf), &got)) == ZOO_TLS_OK) {
        bool end = memmem(buf, got, "\r\n\r\n", 4) != NULL || memmem(buf, got, "\n\n", 2);
        c->request_len += got;
        if (end || c->request_len >= ZOO_REQUEST_MAX) {
            zoo_tls_describe(c->tls, what, sizeof(what));
            snprintf(c->outcome, sizeof(c->outcome), "completed (%s), request answered", what);
            respond(c);
            return c->state == ZOO_CONN_DONE ? ZOO_CONN_DONE : ZOO_CONN_WANT_FLUSH;
        }
    }
    if (st == ZOO_TLS_WANT_READ && !c->eof) {
        return ZOO_CONN_WANT_REQUEST;
    }
    if (st == ZOO_TLS_FAILED) {
        fail(c, "after handshake");
    }
    return ZOO_CONN_DONE; /* closed without a (complete) request: outcome already says so */
}

/* Runs the state machine as far as the buffered input allows. */
static void step(struct zoo_conn *c)
{
    enum zoo_conn_state next;

    do {
        next = c->state;
        switch (c->state) {
        case ZOO_CONN_WANT_HANDSHAKE:
            next = on_handshake(c);
            break;
        case ZOO_CONN_WANT_REQUEST:
            next = on_request(c);
            break;
        case ZOO_CONN_WANT_FLUSH:
        case ZOO_CONN_DONE:
        case ZOO_CONN_WANT_EOF:
            break;
        default:
            fprintf(stderr, "tlszoo: bug: connection in unknown state %d\n", c->state);
            abort();
        }
        if (c->state != ZOO_CONN_DONE) {
            c->state = next;
        }
    } while (next != c->state && c->state != ZOO_CONN_DONE);
}

static void linger(struct zoo_conn *c)
{
    struct timeval tv = {ZOO_LINGER_SECONDS, 0};

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
        if (c->state != ZOO_CONN_DONE && c->state != ZOO_CONN_WANT_FLUSH) {
            finish(c, "connection reset by client");
        }
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

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct zoo_conn *c = arg;
    char buf[16384];
    ssize_t n;

    (void)what;
    n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (c->state == ZOO_CONN_WANT_EOF) {
        if (n <= 0) {
            conn_free(c);
        }
        return;
    }
    if (n < 0) {
        finish(c, c->state == ZOO_CONN_WANT_HANDSHAKE ? "connection reset during handshake"
                                                       : "connection reset by client");
        conn_free(c);
        return;
    }
    if (n == 0) {
        c->eof = true;
        event_del(c->ev_read);
    } else if (c->in.len - c->in_off + (size_t)n > ZOO_IN_MAX ||
               buf_append(&c->in, buf, (size_t)n) != 0) {
        finish(c, "too much unread input from client");
        conn_free(c);
        return;
    } else {
        c->bytes_in += (size_t)n;
        zoo_record_scan_feed(&c->records, (const unsigned char *)buf, (size_t)n);
    }
    step(c);
    if (c->eof && c->state == ZOO_CONN_WANT_REQUEST) {
        c->state = ZOO_CONN_DONE; /* closed without a request; outcome says so */
    }
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
    finish(c, c->state == ZOO_CONN_WANT_HANDSHAKE ? "timeout waiting for the handshake"
                                                   : "timeout waiting for the request");
    conn_free(c);
}

static void peer_name(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(buf, len, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "[%s]:%d", host, port);
    } else {
        snprintf(buf, len, "?");
    }
}

void zoo_conn_start(struct event_base *base, const struct zoo_endpoint *ep, int fd,
                    const struct sockaddr *peer, socklen_t peer_len)
{
    struct zoo_conn *c = calloc(1, sizeof(*c));
    struct zoo_tls_io io = {c, conn_recv, conn_send};
    struct timeval tv = {ep->handshake_timeout, 0};

    (void)peer_len;
    if (c == NULL) {
        close(fd);
        return;
    }
    c->next = open_list;
    if (open_list != NULL) {
        open_list->prev = c;
    }
    open_list = c;
    c->ep = ep;
    c->fd = fd;
    peer_name(peer, c->peer, sizeof(c->peer));
    evutil_make_socket_nonblocking(fd);
    c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, c);
    c->ev_write = event_new(base, fd, EV_WRITE, on_writable, c);
    c->ev_timer = evtimer_new(base, on_timeout, c);
    c->tls = zoo_tls_new(ep->ctx, &io);
    if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL || c->tls == NULL) {
        finish(c, "out of memory");
        conn_free(c);
        return;
    }
    event_add(c->ev_read, NULL);
    evtimer_add(c->ev_timer, &tv);
}
