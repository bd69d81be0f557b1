/*
 * pdf_file.c — reading a document whole, and writing a signed one so that nothing
 * half-written is ever left: a temporary file beside the output, synced, then renamed
 * (without replacing an existing file unless asked to).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kyso_err.h"
#include "pdf_internal.h"

int
file_read_all(const char *path, size_t max, unsigned char **data, size_t *len,
    dev_t *dev, ino_t *ino, char *err, size_t errlen)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r = KYSO_OK;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, _("cannot open %s: %s"), path, strerror(errno));
		return KYSO_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, _("%s is not a regular file"), path);
		r = KYSO_ERR_IO;
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		snprintf(err, errlen, _("%s is larger than %zu bytes"), path, max);
		r = KYSO_ERR_TOO_LARGE;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, _("out of memory reading %s"), path);
		r = KYSO_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, _("cannot read %s: %s"), path, n == 0 ?
			    _("it became shorter while being read") : strerror(errno));
			r = KYSO_ERR_IO;
			goto out;
		}
		got += (size_t)n;
	}
	if (dev != NULL)
		*dev = st.st_dev;
	if (ino != NULL)
		*ino = st.st_ino;
	*data = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

/* The process's umask, read without changing it (umask(2) would race other threads). */
static mode_t
current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned m = 022;

	if (f == NULL)
		return 022;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	fclose(f);
	return (mode_t)m;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
file_write_atomic(const char *path, const struct file_part *parts, size_t n, int force,
    char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
	struct stat st;
	int fd = -1, e, dfd;

	if (base[0] == '\0') {
		snprintf(err, errlen, _("%s names a directory, not a file"), path);
		return KYSO_ERR_IO;
	}
	if (!force && lstat(path, &st) == 0) {
		snprintf(err, errlen, _("%s exists (use --force to replace it)"), path);
		return KYSO_ERR_EXISTS;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.kyso-XXXXXX", dir, base) >= sizeof(tmp)) {
		snprintf(err, errlen, _("%s: the path is too long"), path);
		return KYSO_ERR_IO;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, _("cannot write in %s: %s"), dir, strerror(errno));
		return KYSO_ERR_IO;
	}
	for (size_t i = 0; i < n; i++)
		if (write_all(fd, parts[i].p, parts[i].n) != 0)
			goto fail;
	if (fchmod(fd, 0666 & ~current_umask()) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (force ? rename(tmp, path) : renameat2(AT_FDCWD, tmp, AT_FDCWD, path,
	    RENAME_NOREPLACE)) {
		e = errno;
		unlink(tmp);
		if (e == EEXIST) {
			snprintf(err, errlen, _("%s exists (use --force to replace it)"), path);
			return KYSO_ERR_EXISTS;
		}
		snprintf(err, errlen, _("cannot write %s: %s"), path, strerror(e));
		return KYSO_ERR_IO;
	}
	/* the rename itself must survive a crash */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return KYSO_OK;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	snprintf(err, errlen, _("cannot write %s: %s"), path, strerror(e));
	return KYSO_ERR_IO;
}
