/*
 * config_paths.c — where kysod's configuration files are: the administrator's (and who
 * may name another one) and the user's.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "kyso_err.h"

const char *
config_admin_path(void)
{
	const char *env = secure_getenv(CONFIG_ADMIN_ENV);

	return env != NULL && env[0] != '\0' && getuid() == 0 ? env : CONFIG_ADMIN_PATH;
}

int
config_user_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s/%s", xdg, CONFIG_USER_SUBPATH);
	else {
		if ((home == NULL || home[0] != '/') &&
		    getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
			home = pw.pw_dir;
		if (home == NULL || home[0] != '/')
			return KYSO_ERR_INVALID_ARG;
		n = snprintf(buf, len, "%s/.config/%s", home, CONFIG_USER_SUBPATH);
	}
	return n >= 0 && (size_t)n < len ? KYSO_OK : KYSO_ERR_INVALID_ARG;
}
