/* Follows TLS record framing (RFC 8446 §5.1) over the bytes a client sends
 * and notes plaintext alerts before the TLS engine consumes them: a client
 * that refuses our certificate often alerts before it has switched to
 * encrypted records, and the engine would only see a broken record. */
#ifndef ZOO_RECORD_H
#define ZOO_RECORD_H

#include <stdbool.h>
#include <stddef.h>

struct zoo_record_scan {
    unsigned char header[5];
    size_t header_len;
    size_t left; /* body bytes of the current record still to come */
    size_t body_len;
    unsigned char alert[2];
    bool broken;     /* not TLS framing; scanning stopped */
    int alert_level; /* last plaintext alert seen: 1 warning, 2 fatal; 0 none */
    int alert_code;
};

/* Consumes N more bytes of the client's stream. */
void zoo_record_scan_feed(struct zoo_record_scan *r, const unsigned char *p, size_t n);

#endif
