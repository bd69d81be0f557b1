/*
 * kyso_p11_helper.c — kyso-p11-helper: runs one vendor PKCS#11 module for kysod, so that
 * a module that crashes, hangs or scribbles on memory costs only its own tokens.
 *
 * kysod starts it (fork and exec: it shares no memory with the agent) with the module's
 * path and the control channel on descriptor 3, every other descriptor closed but
 * standard error, and a small environment. It confines itself (rpc_sandbox), loads and
 * initialises the module, then answers kysod's calls (rpc_server.c) until kysod closes
 * the control channel. Not for people to run: see kysod(1).
 *
 *   kyso-p11-helper [--log-level L] [--syslog] [--no-filter] MODULE
 *   kyso-p11-helper --registered [--no-filter]
 *        prints the modules registered with p11-kit, NUL-terminated (for kysod)
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "rpc_server.h"

#define CONTROL_FD 3

static void
usage(FILE *f)
{
	fprintf(f, "Usage: kyso-p11-helper [--log-level L] [--syslog] [--no-filter] MODULE\n"
	    "       kyso-p11-helper --registered [--no-filter]\n"
	    "kysod runs each PKCS#11 module in a kyso-p11-helper of its own; see kysod(1).\n");
}

/* --registered: the paths of the modules registered with p11-kit, for kysod. */
static int
list_registered(void)
{
	char **paths = NULL;
	size_t n = 0;

	if (p11_modules_registered(&paths, &n) != KYSO_OK)
		return 1;
	for (size_t i = 0; i < n; i++) {
		fwrite(paths[i], 1, strlen(paths[i]) + 1, stdout);
		free(paths[i]);
	}
	free(paths);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 's' },
		{ "no-filter", no_argument, NULL, 'n' },
		{ "registered", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct p11_module *m = NULL;
	char err[512] = "", why[256];
	int level = LOG_LVL_INFO, use_syslog = 0, filter = 1, registered = 0, ch, r;
	struct stat st;

	while ((ch = getopt_long(argc, argv, "l:snrh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if ((level = log_level_parse(optarg)) < 0)
				level = LOG_LVL_INFO;
			break;
		case 's':
			use_syslog = 1;
			break;
		case 'n':
			filter = 0;
			break;
		case 'r':
			registered = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_init("kyso-p11-helper", (enum log_level)level, use_syslog);
	log_journal_named();  /* its lines go to kysod's journal stream, credited to kysod */
	signal(SIGPIPE, SIG_IGN);
	if (rpc_sandbox(filter, why, sizeof(why)) != 0) {
		log_error("cannot confine this process: %s", why);
		return 1;
	}
	if (registered)
		return list_registered();
	if (optind + 1 != argc || fstat(CONTROL_FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		usage(stderr);
		fprintf(stderr, "kyso-p11-helper: only kysod runs it (with its channel on "
		    "descriptor %d)\n", CONTROL_FD);
		return 2;
	}
	r = p11_module_load(argv[optind], &m, err, sizeof(err));
	if (r != KYSO_OK)
		log_debug("%s", err);  /* kysod reports it (RPC_HELLO) */
	rpc_server_init(m, r, err);
	rpc_server_run(CONTROL_FD);
	/* C_Finalize unless RPC_FINALIZE did; not unloaded: channels' threads may be in it */
	if (!rpc_server_finish())
		_exit(0);  /* a call is still inside the module: no destructors under it */
	return 0;
}
