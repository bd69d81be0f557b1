/* procinfo.h — what /proc says about a process, read the same way by kysod and kysod-whois. */
#ifndef KYSO_PROCINFO_H
#define KYSO_PROCINFO_H

#include <sys/types.h>

/*
 * Returns the parent of pid, from /proc/PID/stat (the fields after the command name,
 * which may hold anything), or -1 when it cannot be read.
 */
pid_t proc_parent(pid_t pid);

#endif
