/* Judges one connection against its scenario's expectation: did the client
 * do what a correct client does? */
#ifndef ZOO_VERDICT_H
#define ZOO_VERDICT_H

#include <stddef.h>

#include "report.h"

enum zoo_verdict { ZOO_VERDICT_PASS, ZOO_VERDICT_FAIL, ZOO_VERDICT_SUSPECT };

/* The verdict on R, with one sentence of why in WHY. */
enum zoo_verdict zoo_verdict_judge(const struct zoo_report *r, char *why, size_t len);

/* "PASS", "FAIL" or "SUSPECT". */
const char *zoo_verdict_name(enum zoo_verdict v);

#endif
