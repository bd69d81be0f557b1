/*
 * whois.h — which program is at the other end of a connection, asked of kysod-whois when
 * kysod cannot read /proc/PID/exe itself.
 *
 * kysod.service runs in a user namespace of its own (PrivateUsers=, implied by its mount
 * sandbox), and the kernel lets a process read another's /proc/PID/exe only from the
 * same user namespace (or with CAP_SYS_PTRACE over it): the confined agent cannot name
 * its callers. kysod-whois (agent/kysod_whois.c), a small service of the same user outside
 * that namespace, can: kysod sends it the client's connection (SCM_RIGHTS) and it answers
 * with the peer's pid and executable, read from the connection itself (SO_PEERCRED, then
 * /proc/PID/exe); it never reads or writes the connection.
 *
 * The protocol, on a SOCK_SEQPACKET socket ($KYSO_WHOIS_SOCKET, set by kysod.service):
 *   request: one byte 'W' with one descriptor (SCM_RIGHTS): its peer; or 'P': the peer's
 *            parent (the browser that started a browser host, web.h)
 *   reply:   "OK PID PATH" or "ERR SENTENCE", at most WHOIS_REPLY_MAX bytes, no NUL
 */
#ifndef KYSO_WHOIS_H
#define KYSO_WHOIS_H

#include <stddef.h>
#include <sys/types.h>

#define WHOIS_REPLY_MAX 4200
/* how long kysod waits for an answer (it then names the caller "?"), unless
 * $KYSO_WHOIS_TIMEOUT_MS says otherwise (1 to 60000: a slow machine, a test) */
#define WHOIS_TIMEOUT_MS 1000

/* The wait for an answer in ms: $KYSO_WHOIS_TIMEOUT_MS if valid, else WHOIS_TIMEOUT_MS. */
int whois_timeout_ms(void);

/*
 * Asks the kysod-whois service at $KYSO_WHOIS_SOCKET for the executable of the peer of
 * conn_fd, whose pid kysod read as pid (the same pid namespace: the answer must agree).
 * One thread only (whois_async.c's): one connection to the service is kept open. Returns
 * KYSO_OK with the path in out, KYSO_ERR_UNSUPPORTED (no $KYSO_WHOIS_SOCKET), or another
 * error with a sentence in out.
 */
int whois_exe(int conn_fd, pid_t pid, char *out, size_t outlen);

/*
 * The same for the parent of conn_fd's peer: KYSO_OK with *ppid and the path in out, or
 * an error as whois_exe's.
 */
int whois_parent(int conn_fd, pid_t *ppid, char *out, size_t outlen);

/* Closes the connection to the service (at shutdown); it is made again when needed. */
void whois_close(void);

#endif
