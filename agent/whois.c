/* whois.c — kysod's side of kysod-whois (see whois.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "whois.h"

static int whois_fd = -1;

int
whois_timeout_ms(void)
{
	const char *v = getenv("KYSO_WHOIS_TIMEOUT_MS");
	char *end;
	long ms;

	if (v == NULL || v[0] == '\0')
		return WHOIS_TIMEOUT_MS;
	errno = 0;
	ms = strtol(v, &end, 10);
	return errno == 0 && *end == '\0' && ms >= 1 && ms <= 60000 ? (int)ms : WHOIS_TIMEOUT_MS;
}

void
whois_close(void)
{
	if (whois_fd >= 0)
		close(whois_fd);
	whois_fd = -1;
}

static int
whois_connect(const char *path, char *out, size_t outlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(out, outlen, "KYSO_WHOIS_SOCKET is too long");
		return KYSO_ERR_INVALID_ARG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	/* non-blocking: a kysod-whois that accepts nothing (its backlog full) fails at once
	 * (EAGAIN) instead of holding this thread */
	if ((whois_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    connect(whois_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(out, outlen, "cannot reach kysod-whois at %s: %s", path,
		    errno == EAGAIN ? "it accepts no connection (its backlog is full)" :
		    strerror(errno));
		whois_close();
		return KYSO_ERR_CONNECT;
	}
	return KYSO_OK;
}

/* One request (what: 'W' or 'P') and its reply on the open connection, in time. */
static int
whois_ask(char what, int conn_fd, char *reply, size_t replylen, ssize_t *n)
{
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	char w = what;
	struct iovec iov = { &w, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
		.msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	struct pollfd pfd = { .fd = whois_fd, .events = POLLIN };
	int r;

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &conn_fd, sizeof(int));
	if (sendmsg(whois_fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		return errno == EAGAIN ? KYSO_ERR_TIMEOUT : KYSO_ERR_IO;  /* it reads nothing */
	while ((r = poll(&pfd, 1, whois_timeout_ms())) < 0 && errno == EINTR)
		;
	if (r == 0)
		return KYSO_ERR_TIMEOUT;
	if (r < 0 || (*n = recv(whois_fd, reply, replylen - 1, 0)) <= 0)
		return KYSO_ERR_IO;
	reply[*n] = '\0';
	return KYSO_OK;
}

/* Asks what ('W' or 'P') about conn_fd's peer: KYSO_OK with *who and the path in out. */
static int
whois_query(char what, int conn_fd, pid_t *who, char *out, size_t outlen)
{
	const char *path = getenv("KYSO_WHOIS_SOCKET");
	char reply[WHOIS_REPLY_MAX + 1], *end;
	long got;
	ssize_t n = 0;
	int e;

	if (path == NULL || path[0] == '\0') {
		snprintf(out, outlen, "no KYSO_WHOIS_SOCKET");
		return KYSO_ERR_UNSUPPORTED;
	}
	/* a connection kept from an earlier caller may have been closed: try twice */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (whois_fd < 0 && (e = whois_connect(path, out, outlen)) != KYSO_OK)
			return e;
		if ((e = whois_ask(what, conn_fd, reply, sizeof(reply), &n)) == KYSO_OK)
			break;
		whois_close();
		if (e == KYSO_ERR_TIMEOUT) {
			snprintf(out, outlen, "kysod-whois did not answer within %d ms",
			    whois_timeout_ms());
			return e;
		}
	}
	if (e != KYSO_OK) {
		snprintf(out, outlen, "kysod-whois at %s closed the connection", path);
		return e;
	}
	if (strncmp(reply, "ERR ", 4) == 0) {
		snprintf(out, outlen, "kysod-whois: %s", reply + 4);
		return KYSO_ERR_IO;
	}
	errno = 0;
	got = strncmp(reply, "OK ", 3) == 0 ? strtol(reply + 3, &end, 10) : -1;
	if (got <= 0 || errno != 0 || *end != ' ' || end[1] != '/') {
		snprintf(out, outlen, "kysod-whois sent a malformed answer");
		return KYSO_ERR_PROTOCOL;
	}
	*who = (pid_t)got;
	snprintf(out, outlen, "%s", end + 1);
	return KYSO_OK;
}

int
whois_exe(int conn_fd, pid_t pid, char *out, size_t outlen)
{
	pid_t who = 0;
	int e = whois_query('W', conn_fd, &who, out, outlen);

	if (e == KYSO_OK && who != pid) {  /* another connection, or another pid namespace */
		snprintf(out, outlen, "kysod-whois named pid %ld, the connection says %ld",
		    (long)who, (long)pid);
		return KYSO_ERR_PROTOCOL;
	}
	return e;
}

int
whois_parent(int conn_fd, pid_t *ppid, char *out, size_t outlen)
{
	return whois_query('P', conn_fd, ppid, out, outlen);
}
