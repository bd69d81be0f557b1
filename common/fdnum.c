/* fdnum.c — descriptors kept off 0, 1 and 2 (see fdnum.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fdnum.h"

int
fd_off_stdio(int fd)
{
	int copy, e;

	if (fd < 0 || fd > 2)
		return fd;
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	e = errno;
	close(fd);
	errno = e;
	return copy;
}
