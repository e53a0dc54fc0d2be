/* Small files of the PKI: read whole, written atomically with a mode. */
#include "file.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "error.h"

int zoo_file_write(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX + 8];
    int fd;
    ssize_t n;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp); /* a leftover would keep its own mode */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return ZOO_EIO;
    }
    n = write(fd, data, len);
    if (close(fd) != 0 || n != (ssize_t)len || rename(tmp, path) != 0) {
        unlink(tmp);
        return ZOO_EIO;
    }
    return 0;
}

int zoo_file_read(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n == cap ? -1 : (int)n;
}
