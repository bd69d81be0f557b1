/*
 * hangup.h — noticing that the browser went away while the host waits for kysod.
 *
 * When the page is closed, the extension disconnects its port, or the browser exits,
 * the host's standard input is closed. While the host waits for kysod (a dialog may be
 * open on the officer's screen for a minute), a thread watches for that hangup: it then
 * shuts the host's connection to kysod down, which makes kysod close the dialog and give
 * up the request (a client that leaves gets nothing signed), and the host ends. Between
 * requests the main thread sees the end of its input itself.
 */
#ifndef KYSO_HANGUP_H
#define KYSO_HANGUP_H

struct hangup;

/* Starts watching input_fd. Returns KYSO_OK with *out, KYSO_ERR_NOMEM or KYSO_ERR_IO. */
int hangup_start(int input_fd, struct hangup **out);

/* A call to kysod on socket fd begins: a hangup from now on shuts fd down. */
void hangup_call_begin(struct hangup *h, int fd);

/* The call ended. Returns 1 if the input hung up during it, else 0. */
int hangup_call_end(struct hangup *h);

/* Stops the thread and frees h; NULL is allowed. */
void hangup_stop(struct hangup *h);

#endif
