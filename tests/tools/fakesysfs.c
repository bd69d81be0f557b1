/*
 * fakesysfs.c — an LD_PRELOAD library for tests/integration/udev.sh: statfs and fstatfs
 * report a tmpfs mounted on /sys (in the test's private mount namespace) as sysfs, so
 * that `udevadm test` accepts the synthetic USB devices the test builds there and runs
 * the real udev rules on them. This machine has no USB bus and its kernel no modules
 * (no dummy_hcd, no USB/IP) to make a real one. Everything else is the real call.
 */
#include <dlfcn.h>  /* RTLD_NEXT: -D_GNU_SOURCE */
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

int statfs(const char *path, struct statfs *buf);
int fstatfs(int fd, struct statfs *buf);
int statfs64(const char *path, struct statfs64 *buf);
int fstatfs64(int fd, struct statfs64 *buf);

static int
under_sys(const char *path)
{
	return path != NULL && (strcmp(path, "/sys") == 0 || strncmp(path, "/sys/", 5) == 0);
}

static int
fd_under_sys(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[n] = '\0';
	return under_sys(path);
}

#define FAKE(fn, type, arg_t, test)                                           \
	int fn(arg_t a, type *buf)                                            \
	{                                                                     \
		int (*real)(arg_t, type *) = (int (*)(arg_t, type *))dlsym(  \
		    RTLD_NEXT, #fn);                                          \
		int r = real(a, buf);                                         \
		if (r == 0 && buf->f_type == TMPFS_MAGIC && test(a))          \
			buf->f_type = SYSFS_MAGIC;                            \
		return r;                                                     \
	}
FAKE(statfs, struct statfs, const char *, under_sys)
FAKE(fstatfs, struct statfs, int, fd_under_sys)
FAKE(statfs64, struct statfs64, const char *, under_sys)
FAKE(fstatfs64, struct statfs64, int, fd_under_sys)
