/* monotime.h — how long since a moment of CLOCK_MONOTONIC, in microseconds. */
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

#endif
