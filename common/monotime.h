/* monotime.h — how long since a moment of CLOCK_MONOTONIC, in microseconds; moments
 * some milliseconds later (deadlines). */
#ifndef KYSO_MONOTIME_H
#define KYSO_MONOTIME_H

#include <time.h>

/* Microseconds from t0 (taken with clock_gettime(CLOCK_MONOTONIC)) to now. */
static inline long
mono_us_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000000L + (now.tv_nsec - t0->tv_nsec) / 1000;
}

/* Now on CLOCK_MONOTONIC, in milliseconds. */
static inline long long
mono_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* t plus ms milliseconds (ms >= 0). */
static inline struct timespec
ts_add_ms(struct timespec t, long ms)
{
	t.tv_sec += (time_t)(ms / 1000);
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* The moment ms milliseconds from now on clock clk: CLOCK_MONOTONIC for a deadline,
 * CLOCK_REALTIME for pthread_cond_timedwait on a condition of default attributes. */
static inline struct timespec
clock_after_ms(clockid_t clk, long ms)
{
	struct timespec now;

	clock_gettime(clk, &now);
	return ts_add_ms(now, ms);
}

#endif
