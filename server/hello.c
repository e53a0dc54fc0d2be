/* ClientHello parsing over the raw first flight: record framing (RFC 8446 §5.1), reassembly
 * of a hello split over several records, then the message itself (§4.1.2) with every length
 * checked against the block that encloses it. A reader tracks two limits: the end of the
 * enclosing block by its declared length (beyond it: ERROR) and the bytes that have arrived
 * (beyond them: NEED_MORE), so a prefix of a valid hello never reads as an error. */
#include "hello.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_HANDSHAKE 22
#define HS_CLIENT_HELLO 1

#define EXT_SERVER_NAME 0x0000
#define EXT_SUPPORTED_GROUPS 0x000a
#define EXT_EC_POINT_FORMATS 0x000b
#define EXT_SIGNATURE_ALGORITHMS 0x000d
#define EXT_ALPN 0x0010
#define EXT_SESSION_TICKET 0x0023
#define EXT_PRE_SHARED_KEY 0x0029
#define EXT_SUPPORTED_VERSIONS 0x002b
#define EXT_KEY_SHARE 0x0033

/* A bounded view of the reassembled handshake message. Offsets are absolute in P. */
struct rd {
    const uint8_t *p;
    size_t pos;
    size_t end;        /* end of the enclosing block, by its declared length */
    size_t avail;      /* bytes of the message that have arrived */
    const char *block; /* enclosing block for error text; NULL: the ClientHello itself */
    char *err;
    size_t errlen;
};

/* Where the hello lies in the stream, as found by walking the records. */
struct frame {
    uint8_t hdr[4];     /* handshake header, gathered across records */
    size_t msg_len;     /* 4 + handshake body length; 0 until the header is complete */
    size_t have;        /* handshake bytes present in the buffer */
    size_t n_records;   /* records of the hello seen so far */
    size_t last_end;    /* stream offset where the last of them ends */
    bool last_complete; /* that record has fully arrived */
};

__attribute__((format(printf, 4, 5))) static int say(char *err, size_t errlen, int rc,
                                                     const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

bool zoo_hello_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* N more bytes inside the block: an error past its declared end, NEED_MORE past the data. */
static int need(struct rd *r, size_t n, const char *what)
{
    if (n > r->end - r->pos) {
        if (r->block == NULL) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR, "truncated %s", what);
        }
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "%s overruns the %s", what, r->block);
    }
    if (r->pos + n > r->avail) {
        return say(r->err, r->errlen, ZOO_HELLO_NEED_MORE, "truncated ClientHello (%s)", what);
    }
    return ZOO_HELLO_OK;
}

static int get_uint(struct rd *r, size_t width, const char *what, size_t *v)
{
    int rc;

    if ((rc = need(r, width, what)) != ZOO_HELLO_OK) {
        return rc;
    }
    *v = 0;
    for (size_t i = 0; i < width; i++) {
        *v = *v << 8 | r->p[r->pos++];
    }
    return ZOO_HELLO_OK;
}

/* A vector with a WIDTH-byte length prefix becomes the child reader SUB; R skips past it. */
static int sub(struct rd *r, size_t width, const char *what, struct rd *s)
{
    size_t n;
    int rc;

    if ((rc = get_uint(r, width, what, &n)) != ZOO_HELLO_OK) {
        return rc;
    }
    if (n > r->end - r->pos) {
        r->pos -= width; /* report the overrun as this block's, not as a missing prefix */
        return need(r, width + n, what);
    }
    *s = *r;
    s->end = r->pos + n;
    s->block = what;
    r->pos += n;
    return ZOO_HELLO_OK;
}

/* The block must be used up exactly (RFC 8446 §4.2: extension_data is the whole body). */
static int done(struct rd *r)
{
    if (r->pos != r->end) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "%zu trailing bytes in the %s",
                   r->end - r->pos, r->block);
    }
    return ZOO_HELLO_OK;
}

/* A vector of ITEM-byte values (1 or 2) with a WIDTH-byte length, at least MIN items. */
static int get_list(struct rd *r, size_t width, size_t item, const char *what, void *out,
                    size_t cap, size_t *n, size_t min)
{
    struct rd l;
    size_t bytes, count;
    int rc;

    if ((rc = sub(r, width, what, &l)) != ZOO_HELLO_OK) {
        return rc;
    }
    bytes = l.end - l.pos;
    count = bytes / item;
    if (bytes % item != 0) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "odd %s length %zu", what, bytes);
    }
    if (count < min) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "empty %s", what);
    }
    if (count > cap) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "too many %s (%zu, at most %zu)", what,
                   count, cap);
    }
    if ((rc = need(&l, bytes, what)) != ZOO_HELLO_OK) {
        return rc;
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *v = l.p + l.pos + i * item;

        if (item == 1) {
            ((uint8_t *)out)[i] = v[0];
        } else {
            ((uint16_t *)out)[i] = (uint16_t)(v[0] << 8 | v[1]);
        }
    }
    *n = count;
    return ZOO_HELLO_OK;
}

/* RFC 6066 §3: at most one host_name; we also insist on a printable one of 1-255 bytes. */
static int copy_host_name(struct rd *name, struct zoo_hello *h)
{
    size_t n = name->end - name->pos;
    const uint8_t *s = name->p + name->pos;

    if (h->has_sni) {
        return say(name->err, name->errlen, ZOO_HELLO_ERROR, "more than one host_name");
    }
    if (n == 0 || n > 255) {
        return say(name->err, name->errlen, ZOO_HELLO_ERROR, "host_name length %zu not in 1..255",
                   n);
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            return say(name->err, name->errlen, ZOO_HELLO_ERROR,
                       "non-printable byte 0x%02x in host_name", s[i]);
        }
    }
    memcpy(h->sni, s, n);
    h->sni[n] = '\0';
    h->has_sni = true;
    return ZOO_HELLO_OK;
}

static int ext_server_name(struct rd *r, struct zoo_hello *h)
{
    struct rd list, name;
    size_t type;
    int rc;

    if ((rc = sub(r, 2, "server_name list", &list)) != ZOO_HELLO_OK) {
        return rc;
    }
    if (list.pos == list.end) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "empty server_name list");
    }
    while (list.pos < list.end) {
        if ((rc = get_uint(&list, 1, "server_name entry", &type)) != ZOO_HELLO_OK ||
            (rc = sub(&list, 2, "host_name", &name)) != ZOO_HELLO_OK ||
            (rc = need(&name, name.end - name.pos, "host_name")) != ZOO_HELLO_OK) {
            return rc;
        }
        if (type == 0 && (rc = copy_host_name(&name, h)) != ZOO_HELLO_OK) {
            return rc;
        }
    }
    return done(r);
}

/* RFC 7301 §3.1: a non-empty list of non-empty protocol names. */
static int ext_alpn(struct rd *r, struct zoo_hello *h)
{
    struct rd list, name;
    size_t n;
    int rc;

    if ((rc = sub(r, 2, "ALPN list", &list)) != ZOO_HELLO_OK) {
        return rc;
    }
    if (list.pos == list.end) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "empty ALPN list");
    }
    while (list.pos < list.end) {
        if ((rc = sub(&list, 1, "ALPN protocol name", &name)) != ZOO_HELLO_OK) {
            return rc;
        }
        n = name.end - name.pos;
        if (n == 0) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR, "empty ALPN protocol name");
        }
        if (h->n_alpn == ZOO_HELLO_MAX_ALPN) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR, "too many ALPN protocols (at most %d)",
                       ZOO_HELLO_MAX_ALPN);
        }
        if ((rc = need(&name, n, "ALPN protocol name")) != ZOO_HELLO_OK) {
            return rc;
        }
        memcpy(h->alpn[h->n_alpn], name.p + name.pos, n);
        h->alpn[h->n_alpn][n] = '\0';
        h->alpn_len[h->n_alpn++] = n;
    }
    return done(r);
}

/* RFC 8446 §4.2.8: KeyShareEntry { NamedGroup group; opaque key_exchange<1..2^16-1>; }. */
static int ext_key_share(struct rd *r, struct zoo_hello *h)
{
    struct rd list, key;
    size_t group;
    int rc;

    if ((rc = sub(r, 2, "key_share list", &list)) != ZOO_HELLO_OK) {
        return rc;
    }
    while (list.pos < list.end) {
        if ((rc = get_uint(&list, 2, "key_share entry", &group)) != ZOO_HELLO_OK ||
            (rc = sub(&list, 2, "key_exchange", &key)) != ZOO_HELLO_OK) {
            return rc;
        }
        if (key.pos == key.end) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR, "empty key_exchange for group 0x%04zx",
                       group);
        }
        if (h->n_key_shares == ZOO_HELLO_MAX_KEY_SHARES) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR, "too many key shares (at most %d)",
                       ZOO_HELLO_MAX_KEY_SHARES);
        }
        h->key_shares[h->n_key_shares++] = (uint16_t)group;
    }
    return done(r);
}

/* Parses one extension body R of type TYPE; unknown types are only recorded by the caller. */
static int parse_extension(struct rd *r, uint16_t type, struct zoo_hello *h)
{
    int rc = ZOO_HELLO_OK;

    switch (type) {
    case EXT_SERVER_NAME:
        return ext_server_name(r, h);
    case EXT_ALPN:
        return ext_alpn(r, h);
    case EXT_KEY_SHARE:
        return ext_key_share(r, h);
    case EXT_SUPPORTED_GROUPS:
        rc = get_list(r, 2, 2, "supported_groups list", h->groups, ZOO_HELLO_MAX_GROUPS,
                      &h->n_groups, 1);
        break;
    case EXT_EC_POINT_FORMATS:
        rc = get_list(r, 1, 1, "ec_point_formats list", h->point_formats,
                      ZOO_HELLO_MAX_POINT_FORMATS, &h->n_point_formats, 1);
        break;
    case EXT_SIGNATURE_ALGORITHMS:
        rc = get_list(r, 2, 2, "signature_algorithms list", h->sig_algs, ZOO_HELLO_MAX_SIG_ALGS,
                      &h->n_sig_algs, 1);
        break;
    case EXT_SUPPORTED_VERSIONS:
        rc = get_list(r, 1, 2, "supported_versions list", h->versions, ZOO_HELLO_MAX_VERSIONS,
                      &h->n_versions, 1);
        break;
    case EXT_SESSION_TICKET:
        h->session_ticket = true;
        h->session_ticket_len = r->end - r->pos;
        r->pos = r->end;
        break;
    case EXT_PRE_SHARED_KEY:
        h->psk = true;
        r->pos = r->end;
        break;
    default:
        r->pos = r->end;
        break;
    }
    if (rc != ZOO_HELLO_OK) {
        return rc;
    }
    return done(r);
}

static const char *extension_name(uint16_t type)
{
    static const struct {
        uint16_t type;
        const char *name;
    } names[] = {{EXT_SERVER_NAME, "server_name extension"},
                 {EXT_SUPPORTED_GROUPS, "supported_groups extension"},
                 {EXT_EC_POINT_FORMATS, "ec_point_formats extension"},
                 {EXT_SIGNATURE_ALGORITHMS, "signature_algorithms extension"},
                 {EXT_ALPN, "ALPN extension"},
                 {EXT_SUPPORTED_VERSIONS, "supported_versions extension"},
                 {EXT_KEY_SHARE, "key_share extension"}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].type == type) {
            return names[i].name;
        }
    }
    return "extension";
}

/* Records TYPE, refusing repeats (RFC 8446 §4.2: at most one extension of each type). */
static int note_extension(struct rd *r, uint16_t type, struct zoo_hello *h)
{
    for (size_t i = 0; i < h->n_extensions; i++) {
        if (h->extensions[i] == type) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR, "duplicate extension 0x%04x", type);
        }
    }
    if (h->n_extensions == ZOO_HELLO_MAX_EXTENSIONS) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "too many extensions (at most %d)",
                   ZOO_HELLO_MAX_EXTENSIONS);
    }
    h->extensions[h->n_extensions++] = type;
    return ZOO_HELLO_OK;
}

static int parse_extensions(struct rd *r, struct zoo_hello *h)
{
    struct rd blk, body;
    size_t type, len;
    int rc;

    if ((rc = sub(r, 2, "extensions", &blk)) != ZOO_HELLO_OK) {
        return rc;
    }
    blk.block = "extensions block";
    while (blk.pos < blk.end) {
        if ((rc = get_uint(&blk, 2, "extension header", &type)) != ZOO_HELLO_OK ||
            (rc = get_uint(&blk, 2, "extension header", &len)) != ZOO_HELLO_OK) {
            return rc;
        }
        if (len > blk.end - blk.pos) {
            return say(r->err, r->errlen, ZOO_HELLO_ERROR,
                       "extension 0x%04zx overruns the extensions block", type);
        }
        if ((rc = note_extension(r, (uint16_t)type, h)) != ZOO_HELLO_OK) {
            return rc;
        }
        body = blk;
        body.end = blk.pos + len;
        body.block = extension_name((uint16_t)type);
        blk.pos += len;
        if ((rc = parse_extension(&body, (uint16_t)type, h)) != ZOO_HELLO_OK) {
            return rc;
        }
    }
    return ZOO_HELLO_OK;
}

/* RFC 8446 §4.1.2: the ClientHello body, from legacy_version to the extensions. */
static int parse_body(struct rd *r, struct zoo_hello *h)
{
    size_t v, sid;
    int rc;

    if ((rc = get_uint(r, 2, "client_version", &v)) != ZOO_HELLO_OK) {
        return rc;
    }
    h->legacy_version = (uint16_t)v;
    if (v >> 8 != 3) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "client_version 0x%04zx is not 0x03xx", v);
    }
    if ((rc = need(r, 32, "random")) != ZOO_HELLO_OK) {
        return rc;
    }
    memcpy(h->random, r->p + r->pos, 32);
    r->pos += 32;
    if ((rc = get_uint(r, 1, "session_id", &sid)) != ZOO_HELLO_OK) {
        return rc;
    }
    if (sid > 32) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "session_id length %zu exceeds 32", sid);
    }
    if ((rc = need(r, sid, "session_id")) != ZOO_HELLO_OK) {
        return rc;
    }
    memcpy(h->session_id, r->p + r->pos, sid);
    h->session_id_len = sid;
    r->pos += sid;
    if ((rc = get_list(r, 2, 2, "cipher suites", h->suites, ZOO_HELLO_MAX_SUITES, &h->n_suites,
                       1)) != ZOO_HELLO_OK ||
        (rc = get_list(r, 1, 1, "compression methods", h->compressions, ZOO_HELLO_MAX_COMPRESSIONS,
                       &h->n_compressions, 1)) != ZOO_HELLO_OK) {
        return rc;
    }
    if (r->pos == r->end) {
        return ZOO_HELLO_OK; /* no extensions at all: allowed before TLS 1.3 */
    }
    if ((rc = parse_extensions(r, h)) != ZOO_HELLO_OK) {
        return rc;
    }
    if (r->pos != r->end) {
        return say(r->err, r->errlen, ZOO_HELLO_ERROR, "trailing bytes after the extensions");
    }
    return ZOO_HELLO_OK;
}

static bool is_http_method(const uint8_t *buf, size_t len)
{
    static const char *methods[] = {"GET ",   "POST ",  "HEAD ",    "PUT ", "DELETE ",
                                    "PATCH ", "TRACE ", "OPTIONS ", "PRI ", "CONNECT "};

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);

        if (memcmp(buf, methods[i], len < n ? len : n) == 0) {
            return true;
        }
    }
    return false;
}

/* Checks the (possibly partial, LEN bytes) record header at the start of a record. */
static int check_record_header(const uint8_t *rec, size_t len, bool first, char *err, size_t errlen)
{
    size_t rlen;

    if (first && (rec[0] & 0x80) && len >= 3 && rec[2] == HS_CLIENT_HELLO) {
        return say(err, errlen, ZOO_HELLO_ERROR, "SSLv2-style hello");
    }
    if (first && is_http_method(rec, len)) {
        return say(err, errlen, ZOO_HELLO_ERROR, "HTTP request on a TLS port");
    }
    if (rec[0] != REC_HANDSHAKE) {
        return say(err, errlen, ZOO_HELLO_ERROR, "%s (type %u)",
                   first ? "not a TLS handshake record" : "ClientHello interrupted by a record",
                   rec[0]);
    }
    if (len >= 2 && rec[1] != 3) {
        return say(err, errlen, ZOO_HELLO_ERROR, "record version 0x%02x.. is not 0x03xx", rec[1]);
    }
    if (len < 5) {
        return say(err, errlen, ZOO_HELLO_NEED_MORE, "truncated record header");
    }
    rlen = (size_t)rec[3] << 8 | rec[4];
    if (rlen > ZOO_HELLO_MAX_RECORD) {
        return say(err, errlen, ZOO_HELLO_ERROR, "record length %zu exceeds %d", rlen,
                   ZOO_HELLO_MAX_RECORD);
    }
    if (rlen == 0) {
        return say(err, errlen, ZOO_HELLO_ERROR, "zero-length handshake record");
    }
    return ZOO_HELLO_OK;
}

/* Takes the handshake header bytes from a record body as they arrive (RFC 8446 §4). */
static int take_header(struct frame *f, const uint8_t *body, size_t n, char *err, size_t errlen)
{
    size_t body_len;

    for (size_t i = 0; i < n && f->have + i < 4; i++) {
        f->hdr[f->have + i] = body[i];
    }
    if (f->have == 0 && n > 0 && body[0] != HS_CLIENT_HELLO) {
        return say(err, errlen, ZOO_HELLO_ERROR, "handshake type %u is not ClientHello (1)",
                   body[0]);
    }
    if (f->have < 4 && f->have + n >= 4) {
        body_len = (size_t)f->hdr[1] << 16 | (size_t)f->hdr[2] << 8 | f->hdr[3];
        if (body_len > ZOO_HELLO_MAX_HANDSHAKE) {
            return say(err, errlen, ZOO_HELLO_ERROR, "handshake length %zu exceeds %d", body_len,
                       ZOO_HELLO_MAX_HANDSHAKE);
        }
        f->msg_len = 4 + body_len;
    }
    f->have += n;
    return ZOO_HELLO_OK;
}

/* Walks the records of BUF until the hello is complete or the data runs out. */
static int walk_records(const uint8_t *buf, size_t len, struct frame *f, char *err, size_t errlen)
{
    size_t off = 0, rlen, n;
    int rc;

    memset(f, 0, sizeof(*f));
    while (f->msg_len == 0 || f->have < f->msg_len) {
        if (off == len && f->msg_len > 0) {
            break; /* parse what there is: an error may already show */
        }
        if (off == len) {
            return say(err, errlen, ZOO_HELLO_NEED_MORE, "truncated %s header",
                       off == 0 ? "record" : "handshake");
        }
        rc = check_record_header(buf + off, len - off < 5 ? len - off : 5, off == 0, err, errlen);
        if (rc == ZOO_HELLO_NEED_MORE && f->msg_len > 0) {
            break;
        }
        if (rc != ZOO_HELLO_OK) {
            return rc;
        }
        rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
        n = len - off - 5 < rlen ? len - off - 5 : rlen;
        if ((rc = take_header(f, buf + off + 5, n, err, errlen)) != ZOO_HELLO_OK) {
            return rc;
        }
        f->n_records++;
        f->last_end = off + 5 + rlen;
        f->last_complete = n == rlen;
        if (!f->last_complete) {
            break;
        }
        off = f->last_end;
    }
    return f->msg_len == 0 ? say(err, errlen, ZOO_HELLO_NEED_MORE, "truncated handshake header")
                           : ZOO_HELLO_OK;
}

/* Copies the first N handshake bytes out of the records of BUF (headers already checked). */
static void gather(const uint8_t *buf, size_t len, uint8_t *msg, size_t n)
{
    size_t off = 0, got = 0;

    while (got < n && off + 5 < len) {
        size_t rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
        size_t take = len - off - 5 < rlen ? len - off - 5 : rlen;

        take = take < n - got ? take : n - got;
        memcpy(msg + got, buf + off + 5, take);
        got += take;
        off += 5 + rlen;
    }
}

int zoo_hello_parse(const uint8_t *buf, size_t len, struct zoo_hello *out, char *err, size_t errlen)
{
    struct frame f;
    uint8_t *copy = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    say(err, errlen, 0, "%s", "");
    if ((rc = walk_records(buf, len, &f, err, errlen)) != ZOO_HELLO_OK) {
        return rc;
    }
    struct rd r = {.p = buf + 5, .pos = 4, .end = f.msg_len, .err = err, .errlen = errlen};
    r.avail = f.have < f.msg_len ? f.have : f.msg_len;
    if (f.n_records > 1) {
        if ((copy = malloc(r.avail)) == NULL) {
            return say(err, errlen, ZOO_HELLO_ERROR, "out of memory");
        }
        gather(buf, len, copy, r.avail);
        r.p = copy;
    }
    out->record_version = (uint16_t)(buf[1] << 8 | buf[2]);
    out->n_records = f.n_records;
    if ((rc = parse_body(&r, out)) == ZOO_HELLO_OK && (r.avail < f.msg_len || !f.last_complete)) {
        rc = say(err, errlen, ZOO_HELLO_NEED_MORE, "truncated %s",
                 r.avail < f.msg_len ? "ClientHello" : "record");
    }
    if (rc == ZOO_HELLO_OK) {
        out->consumed = f.last_end;
    }
    free(copy);
    return rc;
}
