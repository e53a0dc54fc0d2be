/* Parses a client's first flight into the fields of its TLS ClientHello (RFC 8446 §4.1.2),
 * reassembling the message from as many records as the client split it into. Plain bytes in,
 * a plain struct out: no TLS library, no allocation the caller sees, never reads past LEN,
 * so it can face any client (and a fuzzer) directly. */
#ifndef ZOO_HELLO_H
#define ZOO_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zoo_hello_status { ZOO_HELLO_OK = 0, ZOO_HELLO_NEED_MORE = 1, ZOO_HELLO_ERROR = -1 };

/* Fixed caps; a hello that exceeds one is an error ("too many ..."). */
#define ZOO_HELLO_MAX_RECORD 16384    /* RFC 8446 §5.1: 2^14 plaintext bytes */
#define ZOO_HELLO_MAX_HANDSHAKE 65536 /* sane limit on the ClientHello body */
#define ZOO_HELLO_MAX_SUITES 512
#define ZOO_HELLO_MAX_COMPRESSIONS 255 /* the vector's own limit */
#define ZOO_HELLO_MAX_EXTENSIONS 128
#define ZOO_HELLO_MAX_VERSIONS 127 /* supported_versions <2..254> */
#define ZOO_HELLO_MAX_GROUPS 128
#define ZOO_HELLO_MAX_POINT_FORMATS 255
#define ZOO_HELLO_MAX_SIG_ALGS 128
#define ZOO_HELLO_MAX_KEY_SHARES 32
#define ZOO_HELLO_MAX_ALPN 16
#define ZOO_HELLO_MAX_ALPN_LEN 255

struct zoo_hello {
    uint16_t record_version; /* first record header's version */
    uint16_t legacy_version; /* client_version field */
    uint8_t random[32];
    uint8_t session_id[32];
    size_t session_id_len;
    uint16_t versions[ZOO_HELLO_MAX_VERSIONS]; /* supported_versions, in order, GREASE kept */
    size_t n_versions;
    uint16_t suites[ZOO_HELLO_MAX_SUITES]; /* in order, GREASE kept */
    size_t n_suites;
    uint8_t compressions[ZOO_HELLO_MAX_COMPRESSIONS];
    size_t n_compressions;
    uint16_t extensions[ZOO_HELLO_MAX_EXTENSIONS]; /* types in order, GREASE kept */
    size_t n_extensions;
    char sni[256]; /* host_name: 1-255 printable ASCII bytes, NUL-terminated */
    bool has_sni;
    char alpn[ZOO_HELLO_MAX_ALPN][ZOO_HELLO_MAX_ALPN_LEN + 1]; /* raw bytes, NUL-terminated */
    size_t alpn_len[ZOO_HELLO_MAX_ALPN];                       /* names may hold any byte */
    size_t n_alpn;
    uint16_t groups[ZOO_HELLO_MAX_GROUPS]; /* supported_groups */
    size_t n_groups;
    uint8_t point_formats[ZOO_HELLO_MAX_POINT_FORMATS];
    size_t n_point_formats;
    uint16_t sig_algs[ZOO_HELLO_MAX_SIG_ALGS]; /* signature_algorithms */
    size_t n_sig_algs;
    uint16_t key_shares[ZOO_HELLO_MAX_KEY_SHARES]; /* groups of the key_share entries */
    size_t n_key_shares;
    bool session_ticket;       /* session_ticket extension present */
    size_t session_ticket_len; /* non-zero: the client tries to resume with a ticket */
    bool psk;                  /* pre_shared_key extension present */
    size_t n_records;          /* records the ClientHello was split into */
    size_t consumed;           /* bytes of the stream up to the end of the hello's last record */
};

/* Parses the client's first flight BUF (LEN bytes from the start of the connection) into OUT.
 * ZOO_HELLO_OK: OUT is filled. ZOO_HELLO_NEED_MORE: BUF is a valid prefix; ERR says what is
 * still awaited. ZOO_HELLO_ERROR: not a (valid) ClientHello; ERR holds a short reason ("not a
 * TLS handshake record", "SSLv2-style hello", "extension 0x0000 overruns the extensions
 * block", ...). Bytes after the hello's last record are ignored. Returns ZOO_HELLO_ERROR with
 * "out of memory" if a hello split over several records cannot be reassembled. */
int zoo_hello_parse(const uint8_t *buf, size_t len, struct zoo_hello *out, char *err,
                    size_t errlen);

/* True for the RFC 8701 GREASE values 0x0a0a, 0x1a1a, ..., 0xfafa. */
bool zoo_hello_is_grease(uint16_t v);

#endif
