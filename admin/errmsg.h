/*
 * errmsg.h — the admin library's way of failing: a kyso_err code and a sentence.
 *
 * Internal to admin/ (csr, certmatch): writes the sentence (printf format, no trailing
 * period) into err[errlen] when err is not NULL, clears OpenSSL's error queue so that no
 * stale error misleads a later call, and returns code.
 */
#ifndef KYSO_ADMIN_ERRMSG_H
#define KYSO_ADMIN_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <openssl/err.h>

#include "i18n.h"

__attribute__((format(printf, 4, 5))) static inline int
errmsg(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	ERR_clear_error();
	return code;
}

#endif
