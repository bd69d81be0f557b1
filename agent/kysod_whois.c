/*
 * kysod_whois.c — kysod-whois: tells the confined kysod which program is at the other end
 * of a client's connection (see whois.h for why and for the protocol).
 *
 * It runs as the same user as kysod, outside kysod's user namespace: socket-activated by
 * kysod-whois.socket, or on --socket PATH. For each request it takes the descriptor
 * passed with it, reads SO_PEERCRED from it and /proc/PID/exe (for 'P': the exe of the
 * peer's parent, the browser of a browser host), closes it, and answers.
 * It never reads or writes the client's connection, and answers only processes of its
 * own user. Single-threaded; it exits when systemd stops it, or on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "procinfo.h"
#include "whois.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

/* at most this many kysod connections at a time (one is the rule) */
#define WHOIS_CLIENTS 8

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The answer for the descriptor passed with a request: its peer, or with parent its
 * peer's parent. */
static void
answer(int fd, int parent, char *out, size_t outlen)
{
	pid_t who;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;
	char link[64], path[WHOIS_REPLY_MAX - 32];
	ssize_t n;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) {
		snprintf(out, outlen, "ERR the descriptor is not a connected Unix socket");
		return;
	}
	if (cred.uid != getuid()) {
		snprintf(out, outlen, "ERR the peer runs as another user");
		return;
	}
	who = parent ? proc_parent(cred.pid) : cred.pid;
	if (who <= 0) {
		snprintf(out, outlen, "ERR the parent of pid %ld cannot be read", (long)cred.pid);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)who);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0) {
		snprintf(out, outlen, "ERR %s: %s", link, strerror(errno));
		return;
	}
	path[n] = '\0';
	snprintf(out, outlen, "OK %ld %s", (long)who, path);
}

/* Serves one request from client c; returns -1 when the client is gone. */
static int
serve(int c)
{
	union { char buf[CMSG_SPACE(sizeof(int) * 4)]; struct cmsghdr align; } u;
	char req[16], reply[WHOIS_REPLY_MAX];
	struct iovec iov = { req, sizeof(req) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
		.msg_controllen = sizeof(u.buf) };
	int fds[4], nfds = 0;
	ssize_t n = recvmsg(c, &m, MSG_CMSG_CLOEXEC);

	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) &&
			    nfds < 4; i++)
				memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	if (n != 1 || (req[0] != 'W' && req[0] != 'P') || nfds != 1 ||
	    (m.msg_flags & MSG_CTRUNC))
		snprintf(reply, sizeof(reply), "ERR a request is 'W' or 'P' and one descriptor");
	else
		answer(fds[0], req[0] == 'P', reply, sizeof(reply));
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	(void)send(c, reply, strlen(reply), MSG_NOSIGNAL);
	return 0;
}

/* Accepts a client of the same user; others are closed at once. */
static int
accept_client(int lfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return -1;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid()) {
		close(c);
		return -1;
	}
	return c;
}

/* The socket of --socket PATH (tests, and running without systemd). */
static int
listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kysod-whois: socket path too long\n");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 8) != 0) {
		fprintf(stderr, "kysod-whois: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 } };
	struct pollfd p[1 + WHOIS_CLIENTS];
	struct sigaction sa = { .sa_handler = on_term };
	struct rlimit no_core = { 0, 0 };
	const char *path = NULL;
	size_t n = 1;
	int ch, lfd;

	while ((ch = getopt_long(argc, argv, "s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'h':
			printf("Usage: kysod-whois [--socket PATH]\n"
			    "Tells the confined kyso agent which program is at the other end of a\n"
			    "client's connection. Started by kysod-whois.socket; see kysod(1).\n");
			return 0;
		case 'V':
			printf("kysod-whois %s\n", KYSO_VERSION);
			return 0;
		default:
			return 2;
		}
	}
	umask(077);
	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (path != NULL) {
		lfd = listen_on(path);
	} else if (sd_listen_fds(1) == 1 &&
	    sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
		lfd = SD_LISTEN_FDS_START;
	} else {
		fprintf(stderr, "kysod-whois: no socket: run it from kysod-whois.socket, or "
		    "with --socket PATH\n");
		return 2;
	}
	if (lfd < 0)
		return 1;
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	(void)sd_notify(0, "READY=1");
	while (!stopping) {
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "kysod-whois: poll: %s\n", strerror(errno));
			return 1;
		}
		for (size_t i = n; i-- > 1;) {
			if (p[i].revents == 0)
				continue;
			if ((p[i].revents & POLLIN) && serve(p[i].fd) == 0)
				continue;
			close(p[i].fd);
			p[i] = p[--n];
		}
		if (p[0].revents & POLLIN) {
			int c = accept_client(lfd);

			if (c >= 0 && n < 1 + WHOIS_CLIENTS)
				p[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
			else if (c >= 0)
				close(c);
		}
	}
	if (path != NULL)
		(void)unlink(path);
	return 0;
}
