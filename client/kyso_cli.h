/* kyso_cli.h — shared by the files of the kyso command-line tool. */
#ifndef KYSO_CLI_H
#define KYSO_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "kyso.h"
#include "kyso_pdf.h"
#include "pdf_batch.h"

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
	EXIT_CANCELLED = 9,   /* the officer cancelled or refused the dialog, or did not answer */
	EXIT_POLICY = 10,     /* the policy (kysod.conf) forbids it */
	EXIT_AUDIT = 11,      /* the audit log cannot be written: nothing was signed */
	EXIT_INVALID = 12,    /* kyso verify: a signature is not valid, or none was found */
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

/*
 * Prints "kyso: " and what went wrong on standard error: c's message when it is the
 * CLI's own or nothing is translated; for kysod's errors in a translated language, the
 * error in that language from its name and parameters, then kysod's English details
 * (kyso_errtext.c). c may be NULL (then err's sentence).
 */
void cli_print_error(const kyso_client *c, int err);

/*
 * Handles the options every command shares (-j, -h, unknown): returns -1 to go on, else
 * the exit code to return.
 */
int cli_common_opt(struct cli *cli, int ch, const char *usage_text, const char *cmd);

/* After getopt: returns EXIT_USAGE (with a message) if arguments are left, else -1. */
int cli_no_extra_args(int argc, char **argv, const char *cmd);

/* Commands: each parses its own options from argv (argv[0] is the command name). */
int cmd_tokens(struct cli *cli, int argc, char **argv);
int cmd_certs(struct cli *cli, int argc, char **argv);
int cmd_sign(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_lock(struct cli *cli, int argc, char **argv);
/* kyso_cmds_cms.c: files signed as CMS (.p7s) through SignDocuments */
int cmd_sign_cms(struct cli *cli, int argc, char **argv);
/* kyso_cmds_agent.c: the agent itself and what it watches */
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_modules(struct cli *cli, int argc, char **argv);
int cmd_watch(struct cli *cli, int argc, char **argv);
/* kyso_cmds_audit.c: the audit log, read from its file (no agent needed) */
int cmd_audit(struct cli *cli, int argc, char **argv);
/* kyso_cmds_pdf.c, kyso_cmds_verify.c: signed documents */
int cmd_sign_pdf(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);

/* Who signs for sign-pdf: kyso_sign_pdfs over the agent, or a test's own signer. */
typedef int (*sign_pdfs_fn)(struct cli *cli, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message,
    struct pdf_timings *t);
/* Parses sign-pdf's command line and signs with sign; returns the exit status. */
int sign_pdf_main(struct cli *cli, int argc, char **argv, sign_pdfs_fn sign);
/* kyso_cmds_web.c: the web pages that may ask (kysod.conf web_origins, and the officer's) */
int cmd_web_origins(struct cli *cli, int argc, char **argv);

/* Output (kyso_output.c). */
/* Prints the tokens (a NULL-terminated array) as a table. */
void out_tokens(FILE *f, kyso_token *const *t);
/* Prints the certificates; tokens (NULL-terminated, may be NULL) give the token labels. */
void out_certs(FILE *f, kyso_cert *const *c, kyso_token *const *t);
/* Prints the ListModules modules array as a table (MODULE last: paths are long). */
void out_modules(FILE *f, const json_t *modules);
/* Prints one module as "PATH (ok, 2 tokens, watched by polling)" on one line. */
void out_module_line(FILE *f, const json_t *module);
/* Writes the local time now: "2026-11-22 10:00:01", or with iso RFC 3339 with the offset. */
void out_now(char *buf, size_t len, int iso);
/*
 * Prints one line for a token event (token-present, -added, -removed, -changed) with the
 * time when: the label, serial, manufacturer and model, and the state it is in now
 * (t NULL: an event about no token, its name only).
 */
void out_event(FILE *f, const char *when, const char *event, const kyso_token *t);
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
