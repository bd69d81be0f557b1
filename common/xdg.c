/* xdg.c — the user's configuration and state directories (see xdg.h). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kyso_err.h"
#include "xdg.h"

int
xdg_path(const char *env, const char *fallback, const char *subpath, char *buf, size_t len)
{
	const char *dir = getenv(env), *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	int n;

	if (dir != NULL && dir[0] == '/') {
		n = snprintf(buf, len, "%s/%s", dir, subpath);
		return n >= 0 && (size_t)n < len ? KYSO_OK : KYSO_ERR_INVALID_ARG;
	}
	if ((home == NULL || home[0] != '/') &&
	    getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		home = pw.pw_dir;
	if (home == NULL || home[0] != '/')
		return KYSO_ERR_INVALID_ARG;
	n = snprintf(buf, len, "%s/%s/%s", home, fallback, subpath);
	return n >= 0 && (size_t)n < len ? KYSO_OK : KYSO_ERR_INVALID_ARG;
}

int
statedir_path(const char *subpath, char *buf, size_t len)
{
	return xdg_path("XDG_STATE_HOME", ".local/state", subpath, buf, len);
}

int
xdg_mkdirs(const char *dir)
{
	char *p = strdup(dir), *s;
	struct stat st;
	int rc = 0;

	if (p == NULL)
		return -1;
	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0700) == 0)
			rc = chmod(p, 0700);
		else if (errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (rc == 0 && stat(dir, &st) != 0)
		rc = -1;
	else if (rc == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		rc = -1;
	}
	return rc;
}
