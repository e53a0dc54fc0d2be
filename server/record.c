/* TLS record framing over a byte stream, for spotting plaintext alerts. */
#include "record.h"

#define TLS_ALERT 21
#define TLS_MAX_RECORD (16384 + 2048) /* RFC 8446 §5.2 ciphertext limit */

static void begin_record(struct zoo_record_scan *r)
{
    unsigned type = r->header[0];

    r->body_len = r->left = (size_t)r->header[3] << 8 | r->header[4];
    r->header_len = 0;
    if (type < 20 || type > 24 || r->header[1] != 3 || r->left > TLS_MAX_RECORD) {
        r->broken = true;
    }
}

void zoo_record_scan_feed(struct zoo_record_scan *r, const unsigned char *p, size_t n)
{
    while (n > 0 && !r->broken) {
        if (r->left == 0) {
            r->header[r->header_len++] = *p++;
            n--;
            if (r->header_len == 5) {
                begin_record(r);
            }
            continue;
        }
        if (r->header[0] == TLS_ALERT && r->body_len == 2) {
            r->alert[2 - r->left] = *p;
            if (r->left == 1) {
                r->alert_level = r->alert[0];
                r->alert_code = r->alert[1];
            }
            r->left--;
            p++;
            n--;
            continue;
        }
        size_t skip = n < r->left ? n : r->left;
        r->left -= skip;
        p += skip;
        n -= skip;
    }
}
