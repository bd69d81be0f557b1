/* web_store.c — the web origins the officer allowed always (see web_store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "log.h"
#include "origin.h"
#include "xdg.h"
#include "web_store.h"

struct web_store {
	char *path;
	char **origins;
	time_t *since;
	size_t n;
	/* what the file was when it was last read; ino 0: never read, or missing */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;   /* ctime: a chmod or chown changes it */
	int loaded;
	char warned[160];   /* the last distrust logged, so that it is logged once */
};

int
web_store_path_default(char *buf, size_t len)
{
	return statedir_path(WEB_STORE_SUBPATH, buf, len);
}

struct web_store *
web_store_new(const char *path)
{
	struct web_store *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void
entries_free(struct web_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->origins[i]);
	free(s->origins);
	free(s->since);
	s->origins = NULL;
	s->since = NULL;
	s->n = 0;
}

void
web_store_free(struct web_store *s)
{
	if (s == NULL)
		return;
	entries_free(s);
	free(s->path);
	free(s);
}

const char *
web_store_path(const struct web_store *s)
{
	return s->path;
}

/* Logs why the file is not used, once per reason. */
static void
distrust(struct web_store *s, const char *why)
{
	if (strcmp(s->warned, why) == 0)
		return;
	snprintf(s->warned, sizeof(s->warned), "%s", why);
	log_warn("%s: %s; no web page counts as allowed by it", s->path, why);
}

static int
push(struct web_store *s, const char *o, time_t since)
{
	char **v;
	time_t *t;

	if ((v = realloc(s->origins, (s->n + 1) * sizeof(*v))) == NULL)
		return KYSO_ERR_NOMEM;
	s->origins = v;
	if ((t = realloc(s->since, (s->n + 1) * sizeof(*t))) == NULL)
		return KYSO_ERR_NOMEM;
	s->since = t;
	if ((v[s->n] = strdup(o)) == NULL)
		return KYSO_ERR_NOMEM;
	t[s->n++] = since;
	return KYSO_OK;
}

/* "2026-12-06T10:00:00Z" to a time; 0 if it is not one. */
static time_t
parse_time(const char *p)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	if (p == NULL || (e = strptime(p, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *e != '\0')
		return 0;
	return timegm(&tm);
}

/* Parses the file's text into s. */
static int
parse(struct web_store *s, char *text)
{
	char norm[ORIGIN_MAX + 1], *save = NULL, *line, *sp;
	int r = KYSO_OK;

	for (line = strtok_r(text, "\n", &save); line != NULL && r == KYSO_OK;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if ((sp = strchr(line, ' ')) != NULL)
			*sp++ = '\0';
		if (origin_normalize(line, 0, norm, sizeof(norm), NULL) != KYSO_OK ||
		    strcmp(norm, line) != 0)
			continue;   /* not an origin as kysod writes them */
		if (s->n >= WEB_STORE_MAX_ENTRIES) {
			distrust(s, "more entries than kysod writes");
			entries_free(s);
			return KYSO_OK;
		}
		r = push(s, norm, parse_time(sp));
	}
	return r;
}

/* Reads the file again if it changed since it was last read. */
static void
reload(struct web_store *s)
{
	struct stat st;
	char *text = NULL;
	ssize_t got;
	int fd;

	if (lstat(s->path, &st) != 0) {
		if (errno != ENOENT)
			distrust(s, strerror(errno));
		entries_free(s);
		s->loaded = 0;
		return;
	}
	if (s->loaded && st.st_dev == s->dev && st.st_ino == s->ino && st.st_size == s->size &&
	    st.st_mtim.tv_sec == s->mtime.tv_sec && st.st_mtim.tv_nsec == s->mtime.tv_nsec &&
	    st.st_ctim.tv_sec == s->ctime.tv_sec && st.st_ctim.tv_nsec == s->ctime.tv_nsec)
		return;
	entries_free(s);
	s->loaded = 0;
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		distrust(s, errno == ELOOP ? "a symbolic link" : strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		distrust(s, "not a regular file");
	else if (st.st_uid != getuid())
		distrust(s, "the file belongs to another user");
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		distrust(s, "others may write the file (chmod 600 it)");
	else if (st.st_size > WEB_STORE_MAX_BYTES)
		distrust(s, "larger than kysod writes it");
	else if ((text = malloc((size_t)st.st_size + 1)) == NULL)
		log_error("%s: out of memory", s->path);
	else if ((got = read(fd, text, (size_t)st.st_size)) != (ssize_t)st.st_size)
		distrust(s, got < 0 ? strerror(errno) : "it changed while it was read");
	else {
		text[got] = '\0';
		if (memchr(text, '\0', (size_t)got) != NULL)
			distrust(s, "a NUL byte: not a text file");
		else if (parse(s, text) != KYSO_OK)
			log_error("%s: out of memory", s->path);
		else {
			s->loaded = 1;
			s->warned[0] = '\0';
			s->dev = st.st_dev;
			s->ino = st.st_ino;
			s->size = st.st_size;
			s->mtime = st.st_mtim;
			s->ctime = st.st_ctim;
		}
	}
	if (!s->loaded)
		entries_free(s);
	free(text);
	close(fd);
}

int
web_store_has(struct web_store *s, const char *o)
{
	reload(s);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->origins[i], o) == 0)
			return 1;
	return 0;
}

size_t
web_store_list(struct web_store *s, const char *const **origins, const time_t **since)
{
	reload(s);
	*origins = (const char *const *)s->origins;
	*since = s->since;
	return s->n;
}

/* mkdir -p of the file's directory (0700). 0, or -1 with errno. */
static int
make_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int r = 0;

	if (dir == NULL)
		return errno = ENOMEM, -1;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		r = xdg_mkdirs(dir);
	}
	free(dir);
	return r;
}

/* Writes every entry of s to a new file and renames it over the old one. */
static int
save(struct web_store *s, char *err, size_t errlen)
{
	char tmp[4200], stamp[32], *dir, *slash;
	FILE *f = NULL;
	int fd = -1, dfd, ok = 0;
	struct tm tm;

	if (make_parent(s->path) != 0 || (size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX",
	    s->path) >= sizeof(tmp) || (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(errno));
		return KYSO_ERR_IO;
	}
	if (fchmod(fd, 0600) == 0 && (f = fdopen(fd, "w")) != NULL) {
		fd = -1;
		fprintf(f, "# The web pages the officer allowed to ask kysod for signatures\n"
		    "# (web_origins_unknown = ask in kysod.conf). `kyso web-origins` lists them,\n"
		    "# `kyso web-origins --forget ORIGIN` forgets one. Written by kysod.\n");
		for (size_t i = 0; i < s->n; i++) {
			gmtime_r(&s->since[i], &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
			fprintf(f, "%s %s\n", s->origins[i], stamp);
		}
		ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	}
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, s->path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(errno));
		(void)unlink(tmp);
		return KYSO_ERR_IO;
	}
	/* the rename itself survives a crash once the directory is synced */
	if ((dir = strdup(s->path)) != NULL && (slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC))
		    >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	free(dir);
	s->loaded = 0;   /* read back at the next use: the stat fields change */
	return KYSO_OK;
}

int
web_store_add(struct web_store *s, const char *o, char *err, size_t errlen)
{
	int r;

	if (web_store_has(s, o))
		return KYSO_OK;
	if (s->n >= WEB_STORE_MAX_ENTRIES) {
		snprintf(err, errlen, "%s holds %d web pages already: forget some first "
		    "(kyso web-origins --forget)", s->path, WEB_STORE_MAX_ENTRIES);
		return KYSO_ERR_TOO_LARGE;
	}
	if ((r = push(s, o, time(NULL))) != KYSO_OK)
		return r;
	if ((r = save(s, err, errlen)) != KYSO_OK)
		s->loaded = 0;   /* forget the entry that could not be written */
	return r;
}

int
web_store_forget(struct web_store *s, const char *o, size_t *removed, char *err,
    size_t errlen)
{
	size_t keep = 0;

	*removed = 0;
	reload(s);
	for (size_t i = 0; i < s->n; i++) {
		if (o == NULL || strcmp(s->origins[i], o) == 0) {
			free(s->origins[i]);
			(*removed)++;
			continue;
		}
		s->origins[keep] = s->origins[i];
		s->since[keep++] = s->since[i];
	}
	s->n = keep;
	if (*removed == 0)
		return KYSO_OK;
	return save(s, err, errlen);
}
