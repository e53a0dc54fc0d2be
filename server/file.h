/* Small files: read whole, or written atomically (temporary file, then
 * rename) with the given mode, so a crash never leaves half a key. */
#ifndef ZOO_FILE_H
#define ZOO_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes LEN bytes of DATA to PATH with MODE. 0 or ZOO_EIO (errno set). */
int zoo_file_write(const char *path, const void *data, size_t len, mode_t mode);

/* Reads all of PATH into BUF (CAP bytes). Its length, or -1 when it is
 * missing, unreadable or does not fit. */
int zoo_file_read(const char *path, unsigned char *buf, size_t cap);

#endif
