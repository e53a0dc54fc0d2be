/* Events: one JSON object per connection. Each is judged, written as one
 * line to a stream (stdout or --events FILE, flushed per record) and kept in
 * a ring that the control API reads. */
#ifndef ZOO_EVENTS_H
#define ZOO_EVENTS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "scenario.h"

struct zoo_events;

/* How events are serialised: one line, keys in order, milliseconds short. */
#define ZOO_EVENT_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))

/* A log keeping the last RING events; OUT (may be NULL) gets every line.
 * NULL when out of memory. */
struct zoo_events *zoo_events_new(FILE *out, size_t ring);

/* Makes sure every scenario of CATALOG is listed in the verdicts, even
 * before its first connection. 0 or -1 when out of memory. */
int zoo_events_add_scenarios(struct zoo_events *ev, const struct zoo_catalog *catalog);
void zoo_events_free(struct zoo_events *ev);

/* Judges R, writes and keeps its event. Returns the new event's id (from 1),
 * or 0 if it could not be built. */
uint64_t zoo_events_emit(struct zoo_events *ev, const struct zoo_report *r);

/* Events with an id above SINCE, oldest first, filtered by SCENARIO and PEER
 * (NULL: any), at most LIMIT. Returns a new array; *NEXT is the cursor to
 * pass as SINCE next time. */
json_t *zoo_events_query(struct zoo_events *ev, const char *scenario, const char *peer,
                         uint64_t since, size_t limit, uint64_t *next);

/* The id of the newest event, 0 before the first. */
uint64_t zoo_events_latest(struct zoo_events *ev);

/* Per scenario: counts of PASS, FAIL and SUSPECT and its last events.
 * Returns a new object. */
json_t *zoo_events_verdicts(struct zoo_events *ev, size_t last);

#endif
