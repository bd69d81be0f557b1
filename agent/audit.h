/*
 * audit.h — the audit log: every signing request, granted or refused, as one JSON line
 * appended to a file (the record that counts: no signature without it) and as a
 * structured entry in the systemd journal (a copy: its failure refuses nothing).
 *
 * The file: one JSON object per line (compact, UTF-8, no newline inside: the client's
 * text is escaped), written with a single write(2) on a descriptor opened with O_APPEND,
 * so that concurrent writers never interleave; a write that fails half way is cut back
 * (ftruncate) so that no half line stays. The file stays open between records, but before
 * each one the path is looked at (lstat): when it no longer names the open file (moved
 * away by log rotation, removed, replaced), the path is opened anew, so rotation simply
 * starts a new file. After a failed write it is opened anew too. Mode 0600; its
 * directory, made if missing, 0700. A symbolic link at the path is refused (O_NOFOLLOW),
 * and so is anything but a regular file (/dev/null would lose every record). At every
 * opening, a file or directory someone else could swap or empty is refused (owner.h).
 *
 * Fields of a line, in this order; a field that is not known is left out (also ""):
 *   time          RFC 3339, UTC, milliseconds: "2026-12-06T10:00:00.123Z"
 *   uid, pid      numbers: the caller, from the socket's peer credentials
 *   exe           the caller's executable (/proc/PID/exe)
 *   origin        for a web page's request: the page's origin ("https://host[:port]"),
 *                 as the browser host passed it
 *   browser       and the executable of the program that started the caller (the
 *                 browser that runs the host), from /proc
 *   method        "io.kyso.Agent.Sign", or "io.kyso.Agent.SignDocuments": one record
 *                 per document of the batch
 *   token_serial, token_label
 *   certificate   the certificate id (64 hex digits)
 *   subject       the certificate's subject (RFC 2253)
 *   algorithm     "ecdsa-sha256"...
 *   digest        the hash signed, lower-case hex
 *   digest_alg    "sha256"... (only with a digest)
 *   description   what the client says is signed (its own words, not checked)
 *   document      SignDocuments: the document's name as the program gives it
 *   profile       SignDocuments: "cades" or "pades"
 *   batch         SignDocuments: 16 hex digits shared by the records of one call
 *   signing_time  SignDocuments (CAdES): the signing time the program chose for the
 *                 document, RFC 3339 UTC ("2026-11-30T03:00:00Z"); absent: the agent's
 *                 time of signing
 *   result        "granted", or the varlink error name ("io.kyso.Agent.PinIncorrect")
 *   message       the error sentence of a refusal
 * Strings that are not valid UTF-8 have each bad byte replaced by U+FFFD.
 *
 * A Sign's "granted" record may be written just before the token signs and synced while
 * it does (record_sign_ahead); its signature goes out only once it is durable. If none
 * goes out after all (the token failed or left mid-signature, its helper crashed or
 * missed its deadline, logged out with no PIN to be had, Lock), a second record of the
 * same request follows: the same uid, pid, exe, certificate and digest, result the
 * error's name, and a message ending in "no signature was given out for the request
 * recorded as granted at TIME", TIME the first record's "time" (RECORD_CORRECTS).
 * That is the only record that refers to another.
 *
 * The journal gets the same as MESSAGE ("kyso: signature granted to /usr/bin/app (pid
 * 123, uid 1000): certificate 7c8eae3f0fad8461 (CN=...) on token 'alpha', ecdsa-sha256:
 * \"memo.pdf\""; "... (pid 123, uid 1000) for web page https://...: ..." for a web page's;
 * control characters as '?'), PRIORITY (6 info granted, 5 notice refused,
 * 4 warning for PinIncorrect/PinLocked..., 3 err for AuditFailed),
 * SYSLOG_IDENTIFIER=kysod and KYSO_UID, KYSO_PID, KYSO_EXE, KYSO_ORIGIN, KYSO_BROWSER,
 * KYSO_METHOD,
 * KYSO_TOKEN_SERIAL, KYSO_TOKEN_LABEL, KYSO_CERTIFICATE, KYSO_SUBJECT, KYSO_ALGORITHM,
 * KYSO_DIGEST, KYSO_DIGEST_ALG, KYSO_DESCRIPTION, KYSO_DOCUMENT, KYSO_PROFILE, KYSO_BATCH,
 * KYSO_RESULT, KYSO_MESSAGE (absent ones
 * left out; KYSO_TIME is the "time" of the line). When the file cannot be written, the
 * journal entry of a "granted" record says io.kyso.Agent.AuditFailed instead: the
 * caller then withholds the signature.
 *
 * There is no PIN anywhere in a record: struct audit_record has no field for one, and
 * none must ever be put in the description or message.
 */
#ifndef KYSO_AUDIT_H
#define KYSO_AUDIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* The default file below $XDG_STATE_HOME (else ~/.local/state); kyso audit reads it too. */
#define AUDIT_LOG_SUBPATH "kyso/audit.log"

struct audit_log;

struct audit_record {
	struct timespec when;        /* wall clock (CLOCK_REALTIME) */
	uid_t uid;                   /* the caller, from the socket's peer credentials */
	pid_t pid;
	const char *exe;
	const char *origin;          /* the web page that asked, or NULL */
	const char *browser;         /* then the executable of the caller's parent, or NULL */
	const char *method;          /* "io.kyso.Agent.Sign" */
	const char *token_serial, *token_label;   /* NULL if unknown */
	const char *cert_id, *cert_subject;       /* NULL if unknown */
	const char *algorithm;       /* NULL if unknown */
	const unsigned char *digest; /* the hash signed; NULL if none (at most 64 bytes used) */
	size_t digest_len;
	const char *digest_alg;      /* "sha256"...; NULL if none */
	const char *description;     /* the client's words, NULL if none */
	const char *document;        /* SignDocuments: the document's name, else NULL */
	const char *profile;         /* SignDocuments: "cades", "pades", else NULL */
	const char *batch;           /* SignDocuments: the batch id, else NULL */
	const char *signing_time;    /* SignDocuments: the signing_time the program chose
	                              * (RFC 3339 UTC), else NULL */
	const char *result;          /* "granted", or the varlink error name */
	const char *message;         /* the error sentence, or NULL */
};

/*
 * Writes the default path, $XDG_STATE_HOME/kyso/audit.log (when set and absolute), else
 * $HOME/.local/state/kyso/audit.log (HOME from the environment, else the password
 * database). Returns KYSO_OK, or KYSO_ERR_INVALID_ARG (no home, or len too small).
 */
int audit_path_default(char *buf, size_t len);

/*
 * Opens the audit log at path: makes its directory (and missing parents) with mode 0700,
 * creates the file (0600) if missing and checks that it can be appended to (then closes
 * it: the first record opens it). Returns KYSO_OK with *out (free with audit_close), or
 * KYSO_ERR_AUDIT with a sentence naming the file in err, or KYSO_ERR_NOMEM.
 */
int audit_open(const char *path, struct audit_log **out, char *err, size_t errlen);

/*
 * Appends r as one line (see above) and sends it to the journal; thread-safe. With sync,
 * returns only once the line is durable: the file is fdatasync'ed (and its directory after
 * the file was created). Group commit: the records that threads append while one fsync
 * runs are made durable together by the next one, so N signatures in flight at once cost
 * about two fsyncs, not N; each call still returns only after its own line was synced.
 * A failed sync takes back (cuts off) every record not yet durable: their calls fail.
 * Returns KYSO_OK, or KYSO_ERR_AUDIT when the line could not be written (or synced), with
 * a sentence naming the file and the system error in err: then no part of it is left in
 * the file, and a signature must not be given out. KYSO_ERR_INVALID_ARG if r->result is
 * NULL, KYSO_ERR_NOMEM. The journal failing never fails the call (audit_journal_error).
 */
int audit_write(struct audit_log *l, const struct audit_record *r, int sync, char *err,
    size_t errlen);

/*
 * Appends the n records r[0..n-1] as audit_write does, in one write (all lines or none)
 * and with sync one fsync: a batch of signatures costs one. Returns as audit_write.
 */
int audit_write_many(struct audit_log *l, const struct audit_record *r, size_t n, int sync,
    char *err, size_t errlen);

/* The most bytes of lines audit_format may be given room for (kbuf_init's max). */
#define AUDIT_LINES_MAX (16u * 1024 * 1024)

struct kbuf;

/*
 * Appends the lines of r[0..n-1] (each ending in '\n'), as audit_write_many writes them,
 * to out: the formatting of records made ahead of their write (SignDigests formats each
 * chunk of records while the next chunk is at the token). Nothing is written. Returns
 * KYSO_OK, KYSO_ERR_INVALID_ARG (a record without a result) or KYSO_ERR_NOMEM.
 */
int audit_format(const struct audit_record *r, size_t n, struct kbuf *out);

/*
 * Writes lines, audit_format's lines of r[0..n-1], as audit_write_many would (one write,
 * all lines or none; with sync one fsync; the journal's copies made from r). lines gets
 * a NUL after its end (not counted). Returns as audit_write.
 */
int audit_write_lines(struct audit_log *l, const struct audit_record *r, size_t n,
    struct kbuf *lines, int sync, char *err, size_t errlen);

/* Where a record written without sync is: for audit_sync_to and audit_mark_state. */
struct audit_mark {
	unsigned long long n;        /* its number among the records written */
	unsigned long epoch;         /* failed syncs before it was written */
};

/* What became of a record written without sync. */
enum audit_durability {
	AUDIT_PENDING,   /* written, not yet synced */
	AUDIT_DURABLE,   /* synced (by any round since: the group commit's) */
	AUDIT_CUT,       /* taken back by a failed sync: it is not in the file */
};

/*
 * audit_write without sync, saying in *mark where the record is: SignDocuments writes
 * each document's record as it is signed and makes them durable together (audit_sync_to)
 * before their CMS go out. Returns as audit_write (*mark zero on failure).
 */
int audit_write_marked(struct audit_log *l, const struct audit_record *r,
    struct audit_mark *mark, char *err, size_t errlen);

/*
 * audit_write_many without sync, saying in *mark where the records are (one write: one
 * mark for all): a group of Signs writes its "granted" records before the token signs
 * and syncs them (audit_sync_to) while it does. Returns as audit_write_many (*mark zero
 * on failure).
 */
int audit_write_many_marked(struct audit_log *l, const struct audit_record *r, size_t n,
    struct audit_mark *mark, char *err, size_t errlen);

/* Writes ts as a line's "time" field is written ("2026-12-06T10:00:00.123Z"; len >= 32). */
void audit_time_text(const struct timespec *ts, char *buf, size_t len);

/*
 * Returns KYSO_OK once the record at mark (and so every record written before it) is
 * durable: at once if a round already synced it, else after one (led here, or waited
 * for: group commit). KYSO_ERR_AUDIT with err if a failed sync took it back.
 */
int audit_sync_to(struct audit_log *l, const struct audit_mark *mark, char *err,
    size_t errlen);

/* Returns what became of the record at mark; never waits nor syncs. */
enum audit_durability audit_mark_state(struct audit_log *l, const struct audit_mark *mark);

/*
 * Lets l's sync rounds gather: inflight is kysod's count of jobs in flight (the
 * completion queue's); while it is above the number of records waiting for a round, the
 * round about to start first waits up to gather_us (kysod: AUDIT_GATHER_US) for one more
 * record (a signature of another client about to write its own), so that one fsync
 * covers both. inflight must outlive l. Without it (tools) a round starts at once.
 */
void audit_watch_inflight(struct audit_log *l, const atomic_int *inflight, long gather_us);

#define AUDIT_GATHER_US 100

/* Returns how many fsync rounds l has run (the group commit's figure, for tests). */
unsigned long audit_syncs(struct audit_log *l);

/* Returns how many records l has appended since it was opened. */
unsigned long long audit_records(struct audit_log *l);

/*
 * How sending to the journal went: returns how many records could not be sent (0: none
 * failed; no journald at all is not a failure) and, if any, the first reason in buf.
 * The first failure is also logged once with log_warn.
 */
unsigned audit_journal_error(struct audit_log *l, char *buf, size_t len);

/* The path the log writes to. */
const char *audit_path(const struct audit_log *l);

/* Frees l; NULL is allowed. No audit_write may be running. */
void audit_close(struct audit_log *l);

#endif
