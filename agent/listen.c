/* listen.c — socket activation and safe creation of the agent's socket. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "kyso_err.h"
#include "listen.h"
#include "log.h"

int
listen_inherited(int *fds, size_t max, char *err, size_t errlen)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		snprintf(err, errlen, "cannot use the sockets passed by systemd: %s",
		    strerror(-n));
		return KYSO_ERR_IO;
	}
	if ((size_t)n > max) {
		snprintf(err, errlen, "systemd passed %d sockets; at most %zu are supported", n,
		    max);
		return KYSO_ERR_INVALID_ARG;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			snprintf(err, errlen, "socket %d passed by systemd is not a listening "
			    "Unix stream socket", fd);
			return KYSO_ERR_INVALID_ARG;
		}
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		fds[i] = fd;
	}
	return n;
}

/* Makes sure dir exists, is a directory, and only this user (or root) controls it. */
static int
listen_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return KYSO_OK;
	if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create socket directory %s: %s", dir,
		    strerror(errno));
		return KYSO_ERR_IO;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return KYSO_ERR_IO;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		snprintf(err, errlen, "socket directory %s belongs to uid %lu, not to you; "
		    "refusing to use it", dir, (unsigned long)st.st_uid);
		return KYSO_ERR_PERMISSION;
	}
	if (st.st_uid == getuid() && (st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "socket directory %s is writable by others (mode %03o); "
		    "run: chmod 700 %s", dir, st.st_mode & 0777, dir);
		return KYSO_ERR_PERMISSION;
	}
	return KYSO_OK;
}

/* Returns 1 if an agent answers on path, 0 if the socket is stale or absent. */
static int
listen_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

int
listen_create(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	char *copy = NULL;
	mode_t old;
	int fd = -1, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path '%s' must be absolute and shorter than %zu "
		    "bytes", path, sizeof(sa.sun_path));
		return KYSO_ERR_INVALID_ARG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((copy = strdup(path)) == NULL)
		return KYSO_ERR_NOMEM;
	r = listen_dir(dirname(copy), err, errlen);
	free(copy);
	if (r != KYSO_OK)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return KYSO_ERR_IO;
		}
		if (listen_is_live(&sa)) {
			snprintf(err, errlen, "another agent is already serving %s (started "
			    "earlier, or by systemd's kysod.socket); not starting a second one",
			    path);
			return KYSO_ERR_IO;
		}
		log_info("removing stale socket %s", path);
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return KYSO_ERR_IO;
	}
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0 || chmod(path, 0600) != 0 || listen(fd, 64) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return KYSO_ERR_IO;
	}
	return fd;
}
