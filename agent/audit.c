/*
 * audit.c — the audit log (see audit.h): one JSON line per signing request in a file,
 * written in one write(2) and cut back when it fails, reopened for every record (log
 * rotation by moving the file just works), synced in groups, and a copy in the systemd
 * journal (audit_journal.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_journal.h"
#include "audit_line.h"
#include "buf.h"
#include "cpuload.h"
#include "encode.h"
#include "kyso_err.h"
#include "log.h"
#include "monotime.h"
#include "owner.h"
#include "xdg.h"

#define OPEN_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
#define AUDIT_EPOCHS 16

struct audit_log {
	pthread_mutex_t mu;
	char *path, *dir;
	int fd;                     /* the file, kept open while the path still names it */
	dev_t dev;
	ino_t ino;
	int need_dirsync;           /* the file was created: its directory entry is not synced */
	/*
	 * Group commit: records are numbered as they are written; a record that must be
	 * durable waits until synced reaches its number. One thread at a time (the leader)
	 * runs fsync, unlocked, for every record written so far; the others wait on
	 * synced_cv and find their record covered by it, or lead the next round.
	 */
	pthread_cond_t synced_cv;
	unsigned long long written; /* records appended (each one write) */
	unsigned long long synced;  /* records known durable (a prefix of those written) */
	size_t unsynced_bytes;      /* bytes of the records written after the last sync */
	int syncing;                /* a leader is in fsync: l->fd stays open meanwhile */
	/*
	 * A sync that fails cuts every record written since the last good one off the file
	 * and ends an epoch; a record of epoch e was cut iff its number is above cut_lo[e]
	 * (the synced count then). A waiter more than AUDIT_EPOCHS failures behind fails.
	 */
	unsigned long epoch;
	unsigned long long cut_lo[AUDIT_EPOCHS];
	int sync_errno;             /* why the last failed sync failed */
	unsigned long syncs;        /* fsync rounds (audit_syncs) */
	/*
	 * Gathering (wait_durable): records (lines) written and those a good round made
	 * durable, and kysod's count of jobs in flight: while more jobs are in flight than
	 * records wait for a round, a round about to start first waits briefly for one more.
	 */
	atomic_ullong recs;         /* records written (a batch's lines each count); changed
	                             * under mu, read without it by a gathering leader */
	unsigned long long recs_synced;
	const atomic_int *inflight; /* audit_watch_inflight; NULL: never gathers */
	long gather_us;             /* the longest wait for one more record */
	struct audit_journal journal; /* the records' copy in the journal */
};

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- paths ---- */

int
audit_path_default(char *buf, size_t len)
{
	return statedir_path(AUDIT_LOG_SUBPATH, buf, len);
}

const char *
audit_path(const struct audit_log *l)
{
	return l->path;
}

/*
 * Opens the file to append to it, creating it (and its directory) if missing: the fd, or
 * -1 with err. *created tells whether this call made the file.
 */
static int
open_file(struct audit_log *l, int *created, char *err, size_t errlen)
{
	char why[320];
	struct stat st;
	int fd = -1, e = 0;

	*created = 0;
	for (int tries = 0; tries < 4 && fd < 0; tries++) {
		if ((fd = open(l->path, OPEN_FLAGS)) >= 0 || errno != ENOENT)
			break;
		if (xdg_mkdirs(l->dir) != 0) {
			e = errno;
			fail(err, errlen, "cannot make the directory %s of the audit log: %s",
			    l->dir, strerror(e));
			return -1;
		}
		if ((fd = open(l->path, OPEN_FLAGS | O_CREAT | O_EXCL, 0600)) >= 0) {
			*created = 1;
			(void)fchmod(fd, 0600);  /* the umask may have taken more */
		} else if (errno != EEXIST) {
			break;
		}
	}
	if (fd < 0) {
		e = errno;
		fail(err, errlen, "cannot open the audit log %s: %s", l->path,
		    e == ELOOP ? "it is a symbolic link (refused)" : strerror(e));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e = errno;
		fail(err, errlen, "cannot use the audit log %s: %s", l->path,
		    fstat(fd, &st) == 0 ? "it is not a regular file" : strerror(e));
		close(fd);
		return -1;
	}
	/* at every opening (also of a file that replaced the old one): nobody but this
	 * user may be able to swap or empty it */
	if (owner_check_dir(l->dir, why, sizeof(why)) != KYSO_OK ||
	    owner_check_file(fd, l->path, why, sizeof(why)) != KYSO_OK) {
		fail(err, errlen, "cannot trust the audit log %s: %s", l->path, why);
		close(fd);
		return -1;
	}
	return fd;
}

static int sync_dir(const char *dir);

/*
 * One group-commit round on l->fd (l->mu held, no round running): syncs every record
 * written so far, unlocked, so that more records can be appended meanwhile (they wait
 * for the next round). On failure those records are cut off the file (see audit_log),
 * the epoch ends and the file is closed (opened anew for the next record). Wakes the
 * waiters. Returns 0 or an errno.
 */
static int
sync_round(struct audit_log *l)
{
	unsigned long long target = l->written, target_recs = atomic_load(&l->recs);
	size_t bytes = l->unsynced_bytes;
	int fd = l->fd, dirsync = l->need_dirsync, e = 0;
	struct stat st;

	l->syncing = 1;
	l->syncs++;
	pthread_mutex_unlock(&l->mu);
	/*
	 * fdatasync: the lines and the file's new size (needed to read them back) reach the
	 * disk; only the modification time may lag, which no reader of the log relies on.
	 */
	if (fdatasync(fd) != 0)
		e = errno;
	else if (dirsync && sync_dir(l->dir) != 0)
		e = errno;
	pthread_mutex_lock(&l->mu);
	l->syncing = 0;
	if (e == 0) {
		l->synced = target;
		l->recs_synced = target_recs;
		l->unsynced_bytes -= bytes;
		if (dirsync)
			l->need_dirsync = 0;
	} else {
		/* everything not durable goes: also what was appended during the round */
		int cut = fstat(fd, &st) == 0 ? 0 : errno;

		if (cut == 0 && st.st_size < (off_t)l->unsynced_bytes)
			cut = ESPIPE;
		if (cut == 0 && ftruncate(fd, st.st_size - (off_t)l->unsynced_bytes) != 0)
			cut = errno;
		if (cut != 0)
			log_error("cannot cut the unsynced records off the audit log %s: %s",
			    l->path, strerror(cut));
		log_error("cannot sync the audit log %s: %s; %llu record(s) taken back",
		    l->path, strerror(e), l->written - l->synced);
		l->cut_lo[l->epoch % AUDIT_EPOCHS] = l->synced;
		l->epoch++;
		l->synced = l->written;
		l->recs_synced = atomic_load(&l->recs);  /* gone: none waits any more */
		l->unsynced_bytes = 0;
		l->sync_errno = e;
		close(fd);
		l->fd = -1;
	}
	pthread_cond_broadcast(&l->synced_cv);
	return e;
}

/*
 * Closes l->fd (l->mu held): after the round in progress, and after a round of its own
 * for records not yet synced, so that no record waits on a descriptor that is gone.
 */
static void
fd_drop(struct audit_log *l)
{
	while (l->syncing)
		pthread_cond_wait(&l->synced_cv, &l->mu);
	if (l->fd < 0)
		return;
	if (l->synced < l->written && sync_round(l) != 0)
		return;  /* closed by the failed round */
	close(l->fd);
	l->fd = -1;
}

/*
 * The open file for the next record: the one kept open while the path still names it
 * (one lstat instead of open and close per record); else the path is opened anew, so
 * that a log moved away (rotated), removed or replaced is followed. -1 with err.
 */
static int
file_fd(struct audit_log *l, int *created, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	*created = 0;
	if (l->fd >= 0) {
		if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
			return l->fd;
		fd_drop(l);  /* rotated or replaced: its records synced first */
	}
	if ((fd = open_file(l, created, err, errlen)) < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		fail(err, errlen, "cannot use the audit log %s: %s", l->path, strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return fd;
}

static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return -1;
	if (fsync(fd) != 0 && errno != EINVAL)  /* EINVAL: this file system cannot */
		e = errno;
	close(fd);
	errno = e;
	return e != 0 ? -1 : 0;
}

int
audit_open(const char *path, struct audit_log **out, char *err, size_t errlen)
{
	struct audit_log *l;
	const char *slash;
	int fd, created;

	*out = NULL;
	if (path == NULL || path[0] == '\0' || path[strlen(path) - 1] == '/') {
		fail(err, errlen, "the audit log needs the path of a file");
		return KYSO_ERR_AUDIT;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->path = strdup(path)) == NULL)
		goto nomem;
	slash = strrchr(path, '/');
	l->dir = slash == NULL ? strdup(".") : slash == path ? strdup("/") :
	    strndup(path, (size_t)(slash - path));
	if (l->dir == NULL)
		goto nomem;
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->journal.mu, NULL);
	pthread_cond_init(&l->synced_cv, NULL);
	l->fd = -1;
	if ((fd = open_file(l, &created, err, errlen)) < 0) {
		audit_close(l);
		return KYSO_ERR_AUDIT;
	}
	close(fd);
	l->need_dirsync = created;
	*out = l;
	return KYSO_OK;
nomem:
	if (l != NULL) {
		free(l->path);
		free(l);
	}
	fail(err, errlen, "out of memory");
	return KYSO_ERR_NOMEM;
}

void
audit_close(struct audit_log *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0) {
		pthread_mutex_lock(&l->mu);
		fd_drop(l);
		pthread_mutex_unlock(&l->mu);
	}
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->journal.mu);
	pthread_cond_destroy(&l->synced_cv);
	free(l->path);
	free(l->dir);
	free(l);
}

/* ---- the file ---- */

/* Whether record number n of epoch e is durable, cut, or neither yet (l->mu held). */
static enum audit_durability
durability(const struct audit_log *l, unsigned long long n, unsigned long e)
{
	if (l->epoch == e)
		return l->synced >= n ? AUDIT_DURABLE : AUDIT_PENDING;
	if (l->epoch - e <= AUDIT_EPOCHS && n <= l->cut_lo[e % AUDIT_EPOCHS])
		return AUDIT_DURABLE;  /* synced before the failed round that ended e */
	return AUDIT_CUT;
}

/*
 * Whether a round about to start should first gather (l->mu held): more of kysod's jobs
 * are in flight than records wait for the round, so signatures of other clients are
 * about to write theirs (a job in flight whose record waits is counted on both sides;
 * one client alone never waits; a batch's many records never do).
 */
static int
gather_worth(const struct audit_log *l)
{
	unsigned long long waiting = atomic_load(&l->recs) - l->recs_synced;

	return l->inflight != NULL && (unsigned long long)atomic_load(l->inflight) > waiting;
}

/*
 * Waits, l->mu let go, until one more record is written or l->gather_us passed, so
 * that the round about to start covers it too: one fsync fewer, whose CPU (tens of µs
 * here) the signatures share, for a few tens of µs more for the records waiting.
 */
static void
gather(struct audit_log *l)
{
	unsigned long long seen = atomic_load(&l->recs);
	long window = l->gather_us;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_unlock(&l->mu);
	while (atomic_load(&l->recs) == seen && mono_us_since(&t0) < window)
		cpuload_pause();
	pthread_mutex_lock(&l->mu);
}

/*
 * Returns 0 once record number mine of epoch my_epoch is durable (l->mu held): group
 * commit, a round led here (after gathering once, when worth it) or waited for; -1 with
 * err if a failed sync cut it off.
 */
static int
wait_durable(struct audit_log *l, unsigned long long mine, unsigned long my_epoch, char *err,
    size_t errlen)
{
	int gathered = 0;

	while (l->epoch == my_epoch && l->synced < mine) {
		if (l->syncing) {
			pthread_cond_wait(&l->synced_cv, &l->mu);
		} else if (!gathered && gather_worth(l)) {
			gathered = 1;
			gather(l);  /* then looks again: another may have led a round meanwhile */
		} else {
			(void)sync_round(l);
		}
	}
	if (durability(l, mine, my_epoch) == AUDIT_DURABLE)
		return 0;
	fail(err, errlen, "cannot write the audit log %s: %s", l->path,
	    strerror(l->epoch - my_epoch <= AUDIT_EPOCHS ? l->sync_errno : EIO));
	return -1;
}

/*
 * Appends line in one write (l->mu held); cut back on any failure. With sync, returns
 * only once the line is durable: group commit (sync_round), so records appended by
 * several threads at once share one fsync. 0, or -1 with err. Where the line began is
 * learnt only when it must be cut back (the file's size then, less what was written of
 * it): no fstat on the path of every record.
 */
static int
append(struct audit_log *l, const char *line, size_t nrec, int sync, char *err, size_t errlen)
{
	size_t len = strlen(line), written = 0;
	unsigned long long mine;
	unsigned long my_epoch;
	struct stat st;
	int fd, created, e = 0;
	ssize_t n;

	if ((fd = file_fd(l, &created, err, errlen)) < 0)
		return -1;
	if (created)
		l->need_dirsync = 1;
	n = write(fd, line, len);
	if (n < 0) {
		e = errno;
	} else if ((written = (size_t)n) < len) {
		/* why it stopped: the next write says (it is cut back with the rest) */
		n = write(fd, line + written, len - written);
		e = n < 0 ? errno : EIO;
		written += n > 0 ? (size_t)n : 0;
	}
	if (e != 0) {
		int cut = 0;

		if (written > 0) {
			cut = fstat(fd, &st) == 0 ? 0 : errno;
			if (cut == 0 && st.st_size < (off_t)written)
				cut = ESPIPE;  /* the file was cut meanwhile: nothing to cut */
			if (cut == 0 && ftruncate(fd, st.st_size - (off_t)written) != 0)
				cut = errno;
			if (cut != 0)
				log_error("cannot cut the failed record off the audit log %s: %s",
				    l->path, strerror(cut));
		}
		fd_drop(l);  /* opened anew for the next record; others' records synced */
		fail(err, errlen, "cannot write the audit log %s: %s", l->path, strerror(e));
		return -1;
	}
	mine = ++l->written;
	atomic_fetch_add(&l->recs, nrec);
	my_epoch = l->epoch;
	l->unsynced_bytes += len;
	if (!sync)
		return 0;
	return wait_durable(l, mine, my_epoch, err, errlen);
}

void
audit_watch_inflight(struct audit_log *l, const atomic_int *inflight, long gather_us)
{
	pthread_mutex_lock(&l->mu);
	l->inflight = inflight;
	l->gather_us = gather_us;
	pthread_mutex_unlock(&l->mu);
}

unsigned long
audit_syncs(struct audit_log *l)
{
	unsigned long n;

	pthread_mutex_lock(&l->mu);
	n = l->syncs;
	pthread_mutex_unlock(&l->mu);
	return n;
}

unsigned long long
audit_records(struct audit_log *l)
{
	unsigned long long n;

	pthread_mutex_lock(&l->mu);
	n = l->written;
	pthread_mutex_unlock(&l->mu);
	return n;
}

unsigned
audit_journal_error(struct audit_log *l, char *buf, size_t len)
{
	return audit_journal_failures(&l->journal, buf, len);
}


/* ---- a record ---- */

/* audit_write_lines, and with mark (if not NULL) where the lines are (audit_sync_to). */
static int
write_lines(struct audit_log *l, const struct audit_record *r, size_t n,
    struct kbuf *lines, int sync, struct audit_mark *mark, char *err, size_t errlen)
{
	char when[40], digest[129], why[384];
	const char *result, *message;
	int rc;

	if (l == NULL || r == NULL || n == 0 || lines == NULL || lines->len == 0) {
		fail(err, errlen, "audit records are missing");
		return KYSO_ERR_INVALID_ARG;
	}
	if (kbuf_append(lines, "", 1) != KYSO_OK) {  /* the NUL append() stops at */
		fail(err, errlen, "cannot write the audit log %s: out of memory", l->path);
		return KYSO_ERR_NOMEM;
	}
	lines->len--;
	/* one write of every line (whole lines or none), one sync */
	pthread_mutex_lock(&l->mu);
	rc = append(l, (const char *)lines->data, n, sync, err, errlen);
	if (rc == 0 && mark != NULL) {
		mark->n = l->written;  /* the one write of these lines */
		mark->epoch = l->epoch;
	}
	pthread_mutex_unlock(&l->mu);
	if (audit_journal_present(&l->journal)) {
		for (size_t i = 0; i < n; i++) {
			result = r[i].result;
			message = r[i].message;
			if (rc != 0 && strcmp(result, "granted") == 0) {
				result = kyso_err_varlink(KYSO_ERR_AUDIT);
				snprintf(why, sizeof(why), "%s: %s", kyso_strerror(KYSO_ERR_AUDIT),
				    err != NULL && errlen > 0 ? err : "");
				message = why;
			}
			audit_time_text(&r[i].when, when, sizeof(when));
			digest[0] = '\0';
			if (r[i].digest != NULL && r[i].digest_len > 0)
				hex_encode(r[i].digest, r[i].digest_len > 64 ? 64 : r[i].digest_len,
				    digest);
			audit_journal_send(&l->journal, l->path, &r[i], when, digest, result, message);
		}
	}
	return rc == 0 ? KYSO_OK : KYSO_ERR_AUDIT;
}

int
audit_write_lines(struct audit_log *l, const struct audit_record *r, size_t n,
    struct kbuf *lines, int sync, char *err, size_t errlen)
{
	return write_lines(l, r, n, lines, sync, NULL, err, errlen);
}

static int write_record(struct audit_log *l, const struct audit_record *r, int sync,
    struct audit_mark *mark, char *err, size_t errlen);

/* audit_write_many, and with mark (if not NULL) where the records are. */
static int
write_many(struct audit_log *l, const struct audit_record *r, size_t n, int sync,
    struct audit_mark *mark, char *err, size_t errlen)
{
	struct kbuf all;
	int e;

	if (n == 1)
		return write_record(l, r, sync, mark, err, errlen);
	if (l == NULL || r == NULL || n == 0) {
		fail(err, errlen, "audit records are missing");
		return KYSO_ERR_INVALID_ARG;
	}
	kbuf_init(&all, AUDIT_LINES_MAX);  /* bounded by the request, under 1 MiB */
	if ((e = audit_format(r, n, &all)) == KYSO_OK)
		e = write_lines(l, r, n, &all, sync, mark, err, errlen);
	else if (e == KYSO_ERR_INVALID_ARG)
		fail(err, errlen, "an audit record needs a result");
	else
		fail(err, errlen, "cannot write the audit log %s: out of memory", l->path);
	kbuf_free(&all);
	return e;
}

int
audit_write_many(struct audit_log *l, const struct audit_record *r, size_t n, int sync,
    char *err, size_t errlen)
{
	return write_many(l, r, n, sync, NULL, err, errlen);
}

int
audit_write_many_marked(struct audit_log *l, const struct audit_record *r, size_t n,
    struct audit_mark *mark, char *err, size_t errlen)
{
	mark->n = 0;
	mark->epoch = 0;
	return write_many(l, r, n, 0, mark, err, errlen);
}

/* audit_write, and with mark where the record is (for audit_sync_to). */
static int
write_record(struct audit_log *l, const struct audit_record *r, int sync,
    struct audit_mark *mark, char *err, size_t errlen)
{
	char when[40], digest[129] = "", why[384];
	const char *result, *message;
	char *line;
	int rc;

	if (l == NULL || r == NULL || r->result == NULL || r->result[0] == '\0') {
		fail(err, errlen, "an audit record needs a result");
		return KYSO_ERR_INVALID_ARG;
	}
	audit_time_text(&r->when, when, sizeof(when));
	if (r->digest != NULL && r->digest_len > 0)
		hex_encode(r->digest, r->digest_len > 64 ? 64 : r->digest_len, digest);
	if ((line = audit_line_build(r, when, digest)) == NULL) {
		fail(err, errlen, "cannot write the audit log %s: out of memory", l->path);
		return KYSO_ERR_NOMEM;
	}
	pthread_mutex_lock(&l->mu);
	rc = append(l, line, 1, sync, err, errlen);
	if (rc == 0 && mark != NULL) {
		mark->n = l->written;  /* append left l->mu held: the line just written */
		mark->epoch = l->epoch;
	}
	pthread_mutex_unlock(&l->mu);
	free(line);
	result = r->result;
	message = r->message;
	if (rc != 0 && strcmp(r->result, "granted") == 0) {
		/* the caller withholds the signature: say so in the journal */
		result = kyso_err_varlink(KYSO_ERR_AUDIT);
		snprintf(why, sizeof(why), "%s: %s", kyso_strerror(KYSO_ERR_AUDIT),
		    err != NULL && errlen > 0 ? err : "");
		message = why;
	}
	if (audit_journal_present(&l->journal))
		audit_journal_send(&l->journal, l->path, r, when, digest, result, message);
	return rc == 0 ? KYSO_OK : KYSO_ERR_AUDIT;
}

int
audit_write(struct audit_log *l, const struct audit_record *r, int sync, char *err,
    size_t errlen)
{
	return write_record(l, r, sync, NULL, err, errlen);
}

int
audit_write_marked(struct audit_log *l, const struct audit_record *r,
    struct audit_mark *mark, char *err, size_t errlen)
{
	mark->n = 0;
	mark->epoch = 0;
	return write_record(l, r, 0, mark, err, errlen);
}

int
audit_sync_to(struct audit_log *l, const struct audit_mark *mark, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&l->mu);
	rc = wait_durable(l, mark->n, mark->epoch, err, errlen);
	pthread_mutex_unlock(&l->mu);
	return rc == 0 ? KYSO_OK : KYSO_ERR_AUDIT;
}

enum audit_durability
audit_mark_state(struct audit_log *l, const struct audit_mark *mark)
{
	enum audit_durability d;

	pthread_mutex_lock(&l->mu);
	d = durability(l, mark->n, mark->epoch);
	pthread_mutex_unlock(&l->mu);
	return d;
}
