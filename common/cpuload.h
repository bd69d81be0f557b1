/*
 * cpuload.h — whether polling can pay off: a thread that polls for an answer instead of
 * sleeping saves a wake-up (tens of µs on virtual machines) only while a CPU is free to
 * run the thread it waits for. When the machine has as many runnable threads as CPUs
 * (many clients at once, other work), polling only takes the CPU from the threads that
 * do the work, so kysod's and kyso-p11-helper's threads then sleep at once.
 */
#ifndef KYSO_CPULOAD_H
#define KYSO_CPULOAD_H

/*
 * Returns 1 when polling can help: more than one CPU online and fewer runnable threads
 * than CPUs (the 4th field of /proc/loadavg, looked at most every CPULOAD_LOOK_MS
 * milliseconds by the whole process; 1 when it cannot be read). Else 0. Thread-safe.
 */
int cpuload_room(void);

#define CPULOAD_LOOK_MS 5

/*
 * One turn of a polling loop: the CPU goes to a thread ready to run on it, if there is
 * one (sched_yield), else the caller goes on at once. A thread that polled with only the
 * CPU's pause instruction kept a thread woken on its CPU waiting until the scheduler
 * took the CPU from it: the lane back from each of an fsync's disk writes, the helper's
 * answer, the loop's next call (perf sched: 10-25 µs each, four to six times a
 * signature with one client; docs/performance.md).
 */
void cpuload_pause(void);

#endif
