/* cpuload.c — whether a CPU is free for polling (see cpuload.h). */
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpuload.h"

static atomic_long looked_ms;  /* CLOCK_MONOTONIC ms of the last look; 0: never */
static atomic_int room = 1;

/* Runnable threads now (the "R" of "0.50 0.40 0.30 R/T last-pid"), or -1. */
static long
runnable_now(void)
{
	char buf[128], *slash;
	ssize_t n;
	long r = -1;
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((slash = strchr(buf, '/')) != NULL) {
		char *p = slash;

		while (p > buf && p[-1] >= '0' && p[-1] <= '9')
			p--;
		r = strtol(p, NULL, 10);
	}
	return r;
}

int
cpuload_room(void)
{
	static atomic_long ncpu;
	struct timespec now;
	long ms, cpus = atomic_load(&ncpu), run;

	if (cpus == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		atomic_store(&ncpu, cpus > 0 ? cpus : 1);
	}
	if (cpus < 2)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (ms - atomic_load(&looked_ms) >= CPULOAD_LOOK_MS) {
		atomic_store(&looked_ms, ms);
		run = runnable_now();
		/* the count includes the thread that reads it */
		atomic_store(&room, run < 0 || run <= cpus);
	}
	return atomic_load(&room);
}

void
cpuload_pause(void)
{
	(void)sched_yield();
}
