/*
 * audit_line.h — what audit.c takes from audit_line.c: a record made into its line.
 */
#ifndef KYSO_AUDIT_LINE_H
#define KYSO_AUDIT_LINE_H

struct audit_record;

/*
 * Returns r's line ending in '\n' (malloc'd, NUL-terminated), its time field the text
 * when and its digest the hex digest ("" for none); NULL when out of memory (or a line
 * that would hold a newline, which JSON escaping makes impossible).
 */
char *audit_line_build(const struct audit_record *r, const char *when, const char *digest);

#endif
