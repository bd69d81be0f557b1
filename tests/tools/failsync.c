/*
 * failsync.c — an LD_PRELOAD shim for tests: fsync and fdatasync of a file whose name
 * ends in "audit.log" fail with EIO while the file named by $KYSO_TEST_FAILSYNC exists
 * (a disk that cannot make the audit log durable); every other call goes through.
 * Built by the tests that use it (tests/integration/documents_sync.sh).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

/* Returns 1 if fd is the audit log and the trigger file exists. */
static int
failsync_now(int fd)
{
	const char *trigger = getenv("KYSO_TEST_FAILSYNC");
	char link[64], path[4096];
	ssize_t n;

	if (trigger == NULL || access(trigger, F_OK) != 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	return n >= 9 && strcmp(path + n - 9, "audit.log") == 0;
}

/* The libc function name on fd, unless the audit log is to fail: EIO. */
static int
failsync_call(const char *name, int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);

	if (failsync_now(fd) || real == NULL) {
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
