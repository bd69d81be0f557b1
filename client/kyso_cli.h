/* kyso_cli.h — shared by the files of the kyso command-line tool. */
#ifndef KYSO_CLI_H
#define KYSO_CLI_H

#include <stdio.h>

#include "kyso.h"

/* Exit codes, documented in kyso(1). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_ERROR = 1,       /* any other failure */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_NO_AGENT = 3,    /* the agent cannot be reached */
	EXIT_PIN = 4,         /* PIN required or incorrect */
	EXIT_PIN_LOCKED = 5,  /* PIN locked: an administrator must unblock it */
	EXIT_NOT_FOUND = 6,   /* no such certificate or token */
	EXIT_REFUSED = 7,     /* algorithm or digest refused */
	EXIT_TOKEN = 8,       /* the token failed or was removed */
};

struct cli {
	const char *socket;   /* --socket, or NULL for the default */
	int json;             /* --json */
	kyso_client *client;  /* connected by cli_connect */
};

/* Connects cli->client; on failure prints why and returns EXIT_NO_AGENT. */
int cli_connect(struct cli *cli);

/* Prints the client's last error as "kyso: SENTENCE" and returns the matching exit code. */
int cli_fail(struct cli *cli, int err);

/* Commands: each parses its own options from argv (argv[0] is the command name). */
int cmd_tokens(struct cli *cli, int argc, char **argv);
int cmd_certs(struct cli *cli, int argc, char **argv);
int cmd_sign(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_lock(struct cli *cli, int argc, char **argv);
int cmd_info(struct cli *cli, int argc, char **argv);

/* Output (kyso_output.c). */
void out_tokens(FILE *f, const struct kyso_token *t, size_t n);
/* Prints the certificates; tokens (may be empty) give the token labels. */
void out_certs(FILE *f, const struct kyso_cert *c, size_t n, const struct kyso_token *t,
    size_t nt);
/* Prints JSON text indented, as the --json output of a command. */
void out_json(FILE *f, const char *json_text, const char *member);

/*
 * Reads a PIN: one line from standard input (from_stdin), else a prompt on the terminal
 * with echo off. Returns a malloc'd string to wipe and free with cli_pin_free, or NULL
 * (a message was printed).
 */
char *cli_read_pin(int from_stdin, const char *prompt);
void cli_pin_free(char *pin);

#endif
