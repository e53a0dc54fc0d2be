/* TLS alert descriptions (RFC 8446 §6 and earlier versions): the one table
 * of codes and names used by the scenario schema, logs and events. */
#ifndef ZOO_ALERT_H
#define ZOO_ALERT_H

/* The alert's name, e.g. "certificate_expired"; NULL for an unknown code. */
const char *zoo_alert_name(int code);

/* The code of NAME, or -1 if it names no alert. */
int zoo_alert_code(const char *name);

#endif
