/*
 * config_paths.c — where kysod's configuration files are: the administrator's (and who
 * may name another one) and the user's.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "kyso_err.h"
#include "xdg.h"

const char *
config_admin_path(void)
{
	const char *env = secure_getenv(CONFIG_ADMIN_ENV);

	return env != NULL && env[0] != '\0' && getuid() == 0 ? env : CONFIG_ADMIN_PATH;
}

int
config_user_path(char *buf, size_t len)
{
	return xdg_path("XDG_CONFIG_HOME", ".config", CONFIG_USER_SUBPATH, buf, len);
}
