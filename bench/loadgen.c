/* TLS handshake load generator for `make bench`. It uses the system's
 * OpenSSL, so the client shares no code with the server under test. Load
 * mode keeps C connections busy for D seconds, each doing one full
 * handshake (no resumption), close_notify, and waiting for the server to
 * close; it prints one JSON line: handshakes/s, latency (connect to
 * handshake done) and errors by kind. Hold mode opens N connections, before
 * or after the handshake, prints a "ready" line, keeps them open until
 * standard input closes (the driver measures the server's memory then),
 * closes them and prints a second line. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

static const char *const kind_names[ERR_KINDS] = {"connect", "alert", "timeout",
                                                  "reset",   "eof",   "tls"};

double lg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records a sample; a full array doubles, and a failed growth drops it. */
static void add_latency(struct stats *st, double ms)
{
    if (st->nlat == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 4096;
        float *grown = realloc(st->lat, cap * sizeof(*grown));
        if (grown == NULL) {
            return;
        }
        st->lat = grown;
        st->cap = cap;
    }
    st->lat[st->nlat++] = (float)ms;
}

/* Keeps the first error's text: one example per run is enough to diagnose. */
static void note_error(struct worker *w, enum err_kind kind, const char *detail)
{
    w->st.errors[kind]++;
    if (w->st.first_error[0] == '\0') {
        snprintf(w->st.first_error, sizeof(w->st.first_error), "%s: %s", kind_names[kind], detail);
    }
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    struct slot *s = SSL_get_app_data(ssl);

    if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ) && s != NULL &&
        (ret >> 8) == SSL3_AL_FATAL) {
        s->alert = ret & 0xff;
    }
}

/* Sets the epoll interest of S's socket to EVENTS (0: none). */
static int want(struct slot *s, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = s};

    if (events == s->events) {
        return 0;
    }
    s->events = events;
    return epoll_ctl(s->w->ep, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Releases the slot's socket and TLS state; it becomes idle. */
static void slot_reset(struct slot *s)
{
    if (s->ssl != NULL) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->st != S_IDLE) {
        s->w->active--;
    }
    s->st = S_IDLE;
    s->events = 0;
}

void lg_slot_close(struct slot *s)
{
    if (s->st == S_HELD) {
        s->w->held--;
    }
    slot_reset(s);
}

/* Keeps the connection open, watching only for the server closing it. */
static void hold(struct slot *s)
{
    s->st = S_HELD;
    s->w->held++;
    if (want(s, EPOLLIN) != 0) {
        lg_slot_close(s);
    }
}

static void slot_fail(struct slot *s, enum err_kind kind, const char *detail)
{
    note_error(s->w, kind, detail);
    ERR_clear_error();
    slot_reset(s);
}

/* Opens a socket and starts a non-blocking connect. */
int lg_slot_start(struct slot *s)
{
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
    int one = 1;

    s->start = lg_now();
    s->alert = -1;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        note_error(s->w, ERR_CONNECT, strerror(errno));
        return -1;
    }
    s->st = S_CONNECTING;
    s->w->active++;
    s->events = EPOLLOUT;
    (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (const struct sockaddr *)&s->w->addr, sizeof(s->w->addr)) != 0 &&
        errno != EINPROGRESS) {
        slot_fail(s, errno == ECONNRESET ? ERR_RESET : ERR_CONNECT, strerror(errno));
        return -1;
    }
    if (epoll_ctl(s->w->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        slot_fail(s, ERR_CONNECT, "epoll_ctl() failed");
        return -1;
    }
    return 0;
}

/* Classifies a failed SSL_do_handshake from its error and what was seen. */
static void handshake_failed(struct slot *s, int err)
{
    unsigned long e = ERR_peek_error();
    char text[160] = "";

    if (e != 0) {
        ERR_error_string_n(e, text, sizeof(text));
    }
    if (s->alert >= 0) {
        snprintf(text, sizeof(text), "received alert %s", SSL_alert_desc_string_long(s->alert));
        slot_fail(s, ERR_ALERT, text);
    } else if (err == SSL_ERROR_SYSCALL && (errno == ECONNRESET || errno == EPIPE)) {
        slot_fail(s, ERR_RESET, strerror(errno));
    } else if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
               (err == SSL_ERROR_SYSCALL && e == 0)) {
        slot_fail(s, ERR_EOF, "server closed during the handshake");
    } else {
        slot_fail(s, ERR_TLS, text[0] ? text : "handshake failed");
    }
}

/* A completed handshake: the sample, then close_notify and wait for the
 * server's FIN, or hold the connection open. */
static void handshake_done(struct slot *s)
{
    struct worker *w = s->w;

    w->st.handshakes++;
    add_latency(&w->st, (lg_now() - s->start) * 1e3);
    if (w->st.version[0] == '\0') {
        snprintf(w->st.version, sizeof(w->st.version), "%s", SSL_get_version(s->ssl));
        snprintf(w->st.cipher, sizeof(w->st.cipher), "%s", SSL_get_cipher_name(s->ssl));
    }
    if (w->o->hold > 0) {
        hold(s);
        return;
    }
    (void)SSL_shutdown(s->ssl); /* one tiny record into an empty socket buffer */
    ERR_clear_error();
    s->st = S_CLOSING;
    s->start = lg_now();
    if (want(s, EPOLLIN) != 0) {
        slot_reset(s);
    }
}

static void handshake_step(struct slot *s)
{
    int r = SSL_do_handshake(s->ssl);
    int err;

    if (r == 1) {
        handshake_done(s);
        return;
    }
    err = SSL_get_error(s->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (want(s, err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT) != 0) {
            slot_fail(s, ERR_TLS, "epoll_ctl() failed");
        }
        return;
    }
    handshake_failed(s, err);
}

static int tls_begin(struct slot *s)
{
    const struct opts *o = s->w->o;

    if ((s->ssl = SSL_new(s->w->ctx)) == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
        return -1;
    }
    SSL_set_app_data(s->ssl, s);
    SSL_set_info_callback(s->ssl, info_cb);
    SSL_set_connect_state(s->ssl);
    if (o->sni != NULL && SSL_set_tlsext_host_name(s->ssl, o->sni) != 1) {
        return -1;
    }
    if (o->cafile != NULL && o->sni != NULL && SSL_set1_host(s->ssl, o->sni) != 1) {
        return -1;
    }
    return 0;
}

static void connected(struct slot *s)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
        slot_fail(s, soerr == ECONNRESET ? ERR_RESET : ERR_CONNECT,
                  strerror(soerr ? soerr : errno));
        return;
    }
    if (s->w->o->hold > 0 && !s->w->o->hold_handshake) {
        hold(s);
        return;
    }
    if (tls_begin(s) != 0) {
        slot_fail(s, ERR_TLS, "SSL_new() or its settings failed");
        return;
    }
    s->st = S_HANDSHAKE;
    handshake_step(s);
}

/* Reads (and drops) what the server sends after close_notify, up to its FIN. */
static void drain(struct slot *s)
{
    char sink[4096];
    ssize_t n;

    while ((n = recv(s->fd, sink, sizeof(sink), 0)) > 0) {
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (s->st == S_HELD) {
        s->w->dropped++;
    }
    lg_slot_close(s);
}

void lg_slot_event(struct slot *s, uint32_t events)
{
    (void)events;
    switch (s->st) {
    case S_CONNECTING:
        connected(s);
        break;
    case S_HANDSHAKE:
        handshake_step(s);
        break;
    case S_CLOSING:
    case S_HELD:
        drain(s);
        break;
    case S_IDLE:
        break;
    }
}

/* Ends connections stuck past the timeout (the close phase gets 2 s). */
void lg_check_timeouts(struct worker *w, double now)
{
    for (int i = 0; i < w->nslots; i++) {
        struct slot *s = &w->slots[i];
        if (s->st == S_CLOSING && now - s->start > 2.0) {
            w->st.close_timeouts++;
            slot_reset(s);
        } else if ((s->st == S_CONNECTING || s->st == S_HANDSHAKE) &&
                   now - s->start > w->o->timeout) {
            slot_fail(s, ERR_TIMEOUT,
                      s->st == S_CONNECTING ? "connect timed out" : "handshake timed out");
        }
    }
}

const char *lg_kind_name(enum err_kind k)
{
    return kind_names[k];
}

static SSL_CTX *make_ctx(const struct opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int v = o->tls == 12 ? TLS1_2_VERSION : o->tls == 13 ? TLS1_3_VERSION : 0;

    if (ctx == NULL) {
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if ((v && (SSL_CTX_set_min_proto_version(ctx, v) != 1 ||
               SSL_CTX_set_max_proto_version(ctx, v) != 1)) ||
        (o->groups && SSL_CTX_set1_groups_list(ctx, o->groups) != 1) ||
        (o->ciphers && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) ||
        (o->suites && SSL_CTX_set_ciphersuites(ctx, o->suites) != 1) ||
        (o->cafile && SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1)) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, o->cafile ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    return ctx;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: loadgen [OPTIONS] HOST PORT\n"
                 "  -c N          concurrent connections (default 1)\n"
                 "  -d SEC        duration of the load (default 5)\n"
                 "  -t N          threads, each with its own epoll loop (default 1)\n"
                 "  -s NAME       SNI to send (and the name to verify with -A)\n"
                 "  -A FILE       CA file: verify the server (default: no verification)\n"
                 "  -v 1.2|1.3    TLS version (default: either)\n"
                 "  -g LIST       groups, e.g. X25519\n"
                 "  -C LIST       TLS 1.2 cipher list;  -S LIST  TLS 1.3 suites\n"
                 "  -T SEC        connect+handshake timeout (default 10)\n"
                 "  -H N          hold mode: open N connections, print a line, keep them until\n"
                 "                stdin closes (or -W SEC); -k: complete the handshake first\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    int c;

    *o = (struct opts){.conc = 1, .duration = 5, .threads = 1, .timeout = 10, .hold_seconds = 600};
    while ((c = getopt(argc, argv, "c:d:t:s:A:v:g:C:S:T:H:kW:h")) != -1) {
        switch (c) {
        case 'c':
            o->conc = atoi(optarg);
            break;
        case 'd':
            o->duration = atof(optarg);
            break;
        case 't':
            o->threads = atoi(optarg);
            break;
        case 's':
            o->sni = optarg;
            break;
        case 'A':
            o->cafile = optarg;
            break;
        case 'v':
            o->tls = strcmp(optarg, "1.2") == 0 ? 12 : strcmp(optarg, "1.3") == 0 ? 13 : -1;
            break;
        case 'g':
            o->groups = optarg;
            break;
        case 'C':
            o->ciphers = optarg;
            break;
        case 'S':
            o->suites = optarg;
            break;
        case 'T':
            o->timeout = atof(optarg);
            break;
        case 'H':
            o->hold = atoi(optarg);
            break;
        case 'k':
            o->hold_handshake = true;
            break;
        case 'W':
            o->hold_seconds = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (argc - optind != 2 || o->conc < 1 || o->threads < 1 || o->duration <= 0 ||
        o->timeout <= 0 || o->tls < 0 || o->hold < 0) {
        return -1;
    }
    o->host = argv[optind];
    o->port = atoi(argv[optind + 1]);
    return o->port > 0 && o->port < 65536 ? 0 : -1;
}

/* Room for every connection of hold mode, and then some. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    SSL_CTX *ctx;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    int rc;

    if (parse(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (inet_pton(AF_INET, o.host, &addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: HOST must be an IPv4 address, not '%s'\n", o.host);
        return 2;
    }
    addr.sin_port = htons((uint16_t)o.port);
    if ((ctx = make_ctx(&o)) == NULL) {
        fprintf(stderr, "loadgen: cannot set up the OpenSSL context (bad -v/-g/-C/-S/-A?)\n");
        return 2;
    }
    raise_nofile();
    rc = o.hold > 0 ? lg_run_hold(&o, ctx, &addr) : lg_run_load(&o, ctx, &addr);
    SSL_CTX_free(ctx);
    return rc;
}
