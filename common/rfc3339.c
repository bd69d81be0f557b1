/* rfc3339.c — RFC 3339 date-times into milliseconds since the epoch (see rfc3339.h). */
#include <ctype.h>
#include <time.h>

#include "rfc3339.h"

/* n decimal digits at *p into *v; advances *p. 0, or -1 if they are not all digits. */
static int
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* The zone at *s: "Z", "+07:00"; its offset east of UTC in seconds. 1 if there was one. */
static int
zone(const char **s, int *offset)
{
	int sign, zh, zm;

	if (**s == 'Z' || **s == 'z') {
		(*s)++;
		*offset = 0;
		return 1;
	}
	if (**s != '+' && **s != '-')
		return 0;
	sign = *(*s)++ == '-' ? -1 : 1;
	if (digits(s, 2, &zh) || *(*s)++ != ':' || digits(s, 2, &zm) || zh > 23 || zm > 59)
		return -1;
	*offset = sign * (zh * 3600 + zm * 60);
	return 1;
}

static int
days_in_month(int y, int mo)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

int
rfc3339_parse(const char *s, int strict, int64_t *ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, offset = 0, has_zone = 0, has_sec = 0;
	time_t t;

	if (s == NULL || digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d))
		return -1;
	if (*s == 'T' || *s == 't' || (!strict && *s == ' ')) {
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return -1;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &sec))
				return -1;
			has_sec = 1;
		}
		if (has_sec && *s == '.') {
			int scale = 100;

			for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
				frac += (*s - '0') * scale;
			if (scale == 100)
				return -1;  /* a dot without digits */
		}
		if ((has_zone = zone(&s, &offset)) < 0)
			return -1;
	} else if (strict) {
		return -1;
	}
	if (*s != '\0' || (strict && (!has_sec || !has_zone)) || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = has_zone ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = ((int64_t)t - offset) * 1000 + frac;
	return 0;
}
