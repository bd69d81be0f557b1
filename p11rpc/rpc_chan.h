/*
 * rpc_chan.h — whole frames over a channel (a Unix stream socket), for both ends.
 *
 * A channel carries one call at a time: the request, then its response. A frame is
 * received into the receiver's small buffer when it fits (the helper's is locked memory,
 * so a PIN never leaves it) and into a bounded heap buffer otherwise; anything beyond the
 * frame is a protocol error, since nothing may follow a message before it is answered.
 */
#ifndef KYSO_RPC_CHAN_H
#define KYSO_RPC_CHAN_H

#include <stddef.h>

#include "buf.h"

#define RPC_AGAIN (-1001)  /* the receive timeout passed */
#define RPC_EOF (-1002)    /* the other end closed the channel between frames */

/* A receiver's buffers and the frame it got. */
struct rpc_rx {
	unsigned char *small;  /* small_cap bytes owned by the caller (locked in the helper) */
	size_t small_cap;
	struct kbuf big;       /* for larger frames; kbuf_init(&big, RPC_FRAME_MAX) */
	const unsigned char *frame;  /* the frame received (small or big.data), header included */
	size_t len;
	long wait_ms;          /* how long rpc_recv waits for each part of a frame; <= 0: for
	                        * ever (the caller's deadline: past it, RPC_AGAIN) */
};

/*
 * Sends len bytes (a whole frame); with pass_fd >= 0, that descriptor goes along
 * (SCM_RIGHTS). Returns KYSO_OK or KYSO_ERR_IO (the other end is gone).
 */
int rpc_send(int fd, const unsigned char *p, size_t len, int pass_fd);

/*
 * Receives one whole frame into rx (rx->frame, rx->len); a descriptor passed with it goes
 * to *passed (-1 if none; others are closed; passed NULL: all are closed). Returns KYSO_OK,
 * RPC_EOF, RPC_AGAIN (the socket's receive timeout passed), KYSO_ERR_PROTOCOL (a frame
 * cut short, too large, or followed by more bytes), KYSO_ERR_TOO_LARGE/NOMEM or KYSO_ERR_IO.
 */
int rpc_recv(int fd, struct rpc_rx *rx, int *passed);

/* Wipes the frame if it is in the small buffer, and forgets it. */
void rpc_rx_wipe(struct rpc_rx *rx);

/* Returns 1 if fd becomes readable within ms (-1: no limit), else 0. */
int rpc_wait_readable(int fd, long ms);

#endif
