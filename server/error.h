/* Error codes shared by every module: 0 is success, a negative ZOO_E* code is
 * a failure. Human detail travels separately, in a caller's buffer. */
#ifndef ZOO_ERROR_H
#define ZOO_ERROR_H

#define ZOO_ERRORS(X)                                                                              \
    X(ZOO_ENOMEM, -1, "out of memory")                                                             \
    X(ZOO_EINVAL, -2, "invalid input")                                                             \
    X(ZOO_EIO, -3, "input/output error")                                                           \
    X(ZOO_ETLS, -4, "TLS library error")                                                           \
    X(ZOO_ECRYPTO, -5, "cryptography error")

enum zoo_error {
#define ZOO_ERROR_ENUM(name, code, text) name = code,
    ZOO_ERRORS(ZOO_ERROR_ENUM)
#undef ZOO_ERROR_ENUM
};

/* Text for a ZOO_E* code; never NULL. */
const char *zoo_strerror(int code);

#endif
