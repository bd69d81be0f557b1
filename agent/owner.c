/* owner.c — only this user or root may change the files kysod trusts (see owner.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kyso_err.h"
#include "owner.h"

long
owner_root_alias(const char *uid_map, long overflow)
{
	unsigned long inside, outside, count;
	int n = 0;

	if (uid_map == NULL || overflow < 0)
		return -1;
	for (const char *p = uid_map; *p != '\0';) {
		if (sscanf(p, "%lu %lu %lu", &inside, &outside, &count) != 3)
			return -1;  /* unreadable: no alias */
		if (inside == 0 && count > 0)
			return -1;  /* root is mapped: root is root */
		n++;
		p += strcspn(p, "\n");
		p += *p == '\n';
	}
	return n > 0 ? overflow : -1;
}

/* Reads the first line of path into buf (NUL-terminated, at most len - 1 bytes); 0 or -1. */
static int
owner_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* owner_root_alias for this process's user namespace (the kernel's own files). */
static long
owner_root_alias_here(void)
{
	char map[1024], over[32];

	if (owner_read("/proc/self/uid_map", map, sizeof(map)) != 0 ||
	    owner_read("/proc/sys/kernel/overflowuid", over, sizeof(over)) != 0)
		return -1;
	return owner_root_alias(map, strtol(over, NULL, 10));
}

/*
 * Returns 1 if uid may be trusted: this user, or root — and above the file's own
 * directory (not_leaf), in a user namespace that does not map root, the overflow uid the
 * kernel shows root as there.
 */
static int
owner_trusted(uid_t uid, int not_leaf)
{
	if (uid == getuid() || uid == 0)
		return 1;
	return not_leaf && (long)uid == owner_root_alias_here();
}

/* One directory of the path; leaf: the one the file is in. */
static int
owner_check_one(const char *dir, int leaf, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "cannot look at the directory %s: %s", dir, strerror(errno));
		return KYSO_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return KYSO_ERR_PERMISSION;
	}
	if (!owner_trusted(st.st_uid, !leaf)) {
		snprintf(err, errlen, "the directory %s belongs to uid %lu%s, who could replace the "
		    "files %s it; refused", dir, (unsigned long)st.st_uid,
		    (long)st.st_uid == owner_root_alias_here() ? " (a user this sandbox does not "
		    "map: root or another)" : "", leaf ? "in" : "below");
		return KYSO_ERR_PERMISSION;
	}
	if ((st.st_mode & 022) && (leaf || !(st.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "the directory %s is writable by %s (mode %04o), who could "
		    "replace the files %s it; refused (run: chmod go-w %s)", dir,
		    (st.st_mode & 002) ? "others" : "its group", (unsigned)(st.st_mode & 07777),
		    leaf ? "in" : "below", dir);
		return KYSO_ERR_PERMISSION;
	}
	return KYSO_OK;
}

int
owner_check_dir(const char *dir, char *err, size_t errlen)
{
	char *real = realpath(dir, NULL), *slash;
	int r = KYSO_OK, leaf = 1;

	if (real == NULL) {
		snprintf(err, errlen, "cannot look at the directory %s: %s", dir, strerror(errno));
		return KYSO_ERR_IO;
	}
	/* from the directory itself up to the root */
	for (;;) {
		if ((r = owner_check_one(real[0] != '\0' ? real : "/", leaf, err, errlen)) !=
		    KYSO_OK || real[0] == '\0' || strcmp(real, "/") == 0)
			break;
		leaf = 0;
		slash = strrchr(real, '/');
		*slash = '\0';  /* "/home/u" -> "/home", "/home" -> "" (the root) */
	}
	free(real);
	return r;
}

int
owner_check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot look at %s: %s", path, strerror(errno));
		return KYSO_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		return KYSO_ERR_PERMISSION;
	}
	if (st.st_uid != getuid()) {
		snprintf(err, errlen, "%s belongs to uid %lu, not to uid %lu; refused (it may "
		    "have been put in place by someone else)", path, (unsigned long)st.st_uid,
		    (unsigned long)getuid());
		return KYSO_ERR_PERMISSION;
	}
	if (st.st_mode & 022) {
		snprintf(err, errlen, "%s is writable by %s (mode %04o); refused (run: chmod 600 "
		    "%s)", path, (st.st_mode & 002) ? "others" : "its group",
		    (unsigned)(st.st_mode & 07777), path);
		return KYSO_ERR_PERMISSION;
	}
	return KYSO_OK;
}
