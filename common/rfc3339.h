/* rfc3339.h — reading RFC 3339 times (the protocol's, and kyso audit's options). */
#ifndef KYSO_RFC3339_H
#define KYSO_RFC3339_H

#include <stdint.h>

/*
 * Parses s as an RFC 3339 date-time: "2026-12-06T10:00:00Z", "...T17:00:00.250+07:00".
 * With strict (the protocol) that is all: seconds and a zone are required, 'T' and 'Z'
 * may be lower case. Without strict (command-line options) it also takes a date alone
 * ("2026-12-06", local midnight), minutes without seconds, no zone (local time) and a
 * space for 'T'. Checks the calendar (no 2026-02-30) and the ranges (a leap second
 * :60 is taken as :59 plus one second). Returns 0 with *ms (milliseconds since the
 * epoch), or -1.
 */
int rfc3339_parse(const char *s, int strict, int64_t *ms);

#endif
