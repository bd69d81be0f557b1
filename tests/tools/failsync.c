/*
 * failsync.c — an LD_PRELOAD shim for tests: what fsync and fdatasync of a file whose
 * name ends in "audit.log" do, driven by files that the test makes and removes:
 *   - while the file named by $KYSO_TEST_FAILSYNC exists, they fail with EIO (a disk that
 *     cannot make the audit log durable);
 *   - while the file named by $KYSO_TEST_HOLDSYNC exists, they wait (a slow disk, held
 *     for as long as the test wants, at most 120 s), then go through;
 *   - with $KYSO_TEST_SYNCLOG set, each call appends a line to that file: "sync loop" or
 *     "sync thread" (whether the calling thread is the process's main thread: kysod's
 *     event loop), and "held loop" / "held thread" when it starts waiting for the hold —
 *     the sign a test waits for.
 * Every other call goes through. Built by the tests that use it
 * (tests/integration/documents_sync.sh).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

/* Returns 1 if fd is the audit log. */
static int
failsync_audit_fd(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	return n >= 9 && strcmp(path + n - 9, "audit.log") == 0;
}

/* Returns 1 while the file named by the environment variable var exists. */
static int
failsync_flag(const char *var)
{
	const char *f = getenv(var);

	return f != NULL && access(f, F_OK) == 0;
}

/* Appends "WHAT loop|thread" to $KYSO_TEST_SYNCLOG, if set (one write: lines stay whole). */
static void
failsync_note(const char *what)
{
	const char *f = getenv("KYSO_TEST_SYNCLOG");
	char line[64];
	int fd, n;

	if (f == NULL || (fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", what, gettid() == getpid() ? "loop" :
	    "thread");
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

/* The libc function name on fd, unless the audit log is to fail (EIO) or wait first. */
static int
failsync_call(const char *name, int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
	struct timespec pause = { 0, 2 * 1000000L };

	if (failsync_audit_fd(fd)) {
		failsync_note("sync");
		if (failsync_flag("KYSO_TEST_HOLDSYNC")) {
			failsync_note("held");
			for (int i = 0; i < 60000 && failsync_flag("KYSO_TEST_HOLDSYNC"); i++)
				nanosleep(&pause, NULL);
		}
		if (failsync_flag("KYSO_TEST_FAILSYNC")) {
			errno = EIO;
			return -1;
		}
	}
	if (real == NULL) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int
fsync(int fd)
{
	return failsync_call("fsync", fd);
}

int
fdatasync(int fd)
{
	return failsync_call("fdatasync", fd);
}
