/* procinfo.c — what /proc says about a process (see procinfo.h). */
#include <stdio.h>
#include <string.h>

#include "procinfo.h"

pid_t
proc_parent(pid_t pid)
{
	char path[64], stat[1024], *p;
	long pp;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold ')' and spaces, so after the last ')' */
	if ((p = strrchr(stat, ')')) == NULL || sscanf(p + 1, " %*c %ld", &pp) != 1 || pp <= 0)
		return -1;
	return (pid_t)pp;
}
