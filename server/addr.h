/* Socket addresses as people read them. */
#ifndef ZOO_ADDR_H
#define ZOO_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* "1.2.3.4:80" or "[::1]:80" into BUF; "?" for other families. */
void zoo_addr_format(const struct sockaddr *sa, char *buf, size_t len);

/* The local port FD is bound to, or 0. */
int zoo_addr_local_port(int fd);

#endif
