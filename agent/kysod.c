/* kysod.c — the kyso agent's main(): flags, hardening, daemonising, then the loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "jsonmem.h"
#include "kyso_err.h"
#include "log.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: kysod [OPTION]...\n"
	    "The kyso agent: signs with the keys on PKCS#11 tokens for local applications.\n"
	    "\n"
	    "  -f, --foreground       stay in the foreground and log to standard error\n"
	    "  -s, --socket PATH      listen on PATH (default: $KYSO_SOCKET, else\n"
	    "                         $XDG_RUNTIME_DIR/kyso/agent.sock, else\n"
	    "                         /tmp/kyso-UID/agent.sock)\n"
	    "  -m, --module PATH      load this PKCS#11 module (repeatable); without it, the\n"
	    "                         modules registered with p11-kit are loaded\n"
	    "  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n"
	    "\n"
	    "Without --foreground kysod detaches once it is ready to serve and logs to\n"
	    "syslog. With systemd socket activation (LISTEN_FDS) the passed socket is used.\n"
	    "SIGTERM or SIGINT stop it cleanly and remove the socket. See kysod(1).\n");
}

/* No core dumps, no ptrace by other processes of the user, private files. */
static void
harden(void)
{
	struct rlimit no_core = { 0, 0 };

	umask(077);
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		log_warn("cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot make the process non-dumpable: %s", strerror(errno));
}

/*
 * Forks; the parent waits until the child is serving and exits with its status. Returns
 * the write end of the readiness pipe in the child.
 */
static int
daemonize(void)
{
	int p[2], devnull;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		fprintf(stderr, "kysod: cannot start in the background: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			exit(0);
		fprintf(stderr, "kysod: the agent failed to start; see the system log, or run "
		    "kysod --foreground\n");
		exit(1);
	}
	close(p[0]);
	setsid();
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	return p[1];
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_options o = { .ready_fd = -1 };
	struct agent a;
	char err[512];
	int foreground = 0, level = LOG_LVL_INFO, ch, r;

	while ((ch = getopt_long(argc, argv, "fs:m:l:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			foreground = 1;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'm':
			if (o.nmodules == AGENT_MAX_MODULES) {
				fprintf(stderr, "kysod: at most %d --module options\n",
				    AGENT_MAX_MODULES);
				return 2;
			}
			o.modules[o.nmodules++] = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "kysod: unknown log level '%s' (use error, warning, "
				    "info or debug)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kysod %s\n", KYSO_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'kysod --help' for more information.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kysod: unexpected argument '%s'\nTry 'kysod --help' for more "
		    "information.\n", argv[optind]);
		return 2;
	}
	jsonmem_install();
	log_init("kysod", (enum log_level)level, !foreground);
	harden();
	if (!foreground)
		o.ready_fd = daemonize();
	if ((r = agent_init(&a, &o, err, sizeof(err))) != KYSO_OK) {
		log_error("%s", err);
		agent_free(&a);
		return 1;
	}
	r = agent_run(&a);
	agent_free(&a);
	log_info("stopped");
	return r == KYSO_OK ? 0 : 1;
}
