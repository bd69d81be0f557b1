/*
 * rpc_chan.c — sending and receiving whole frames on a channel (rpc_chan.h), both ends.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "rpc.h"
#include "rpc_chan.h"

int
rpc_send(int fd, const unsigned char *p, size_t len, int pass_fd)
{
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { (void *)(p + done), len - done };
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (pass_fd >= 0 && done == 0) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			u.h.cmsg_level = SOL_SOCKET;
			u.h.cmsg_type = SCM_RIGHTS;
			u.h.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&u.h), &pass_fd, sizeof(int));
		}
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return KYSO_ERR_IO;
		done += (size_t)n;
	}
	return KYSO_OK;
}

/* Takes a descriptor passed with the bytes (SCM_RIGHTS) into *fd (closing extras). */
static void
rpc_take_fds(struct msghdr *mh, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd != NULL && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
}

/*
 * One recvmsg into p (room bytes), waiting at most wait_ms (<= 0: for ever) for bytes.
 * Returns the count (> 0), 0 at the end, WIRE-style RPC_AGAIN when the time passed, or
 * KYSO_ERR_IO.
 *
 * It waits in poll, never asleep in recvmsg: the kernel wakes a thread asleep in
 * recvmsg on a Unix socket each time the other end reads what this end sent (the
 * write-space wake-up, unix_write_space), while the thread waits for the answer — a
 * wake-up and two context switches for nothing on every call, on both ends of a
 * channel. poll waits for input only.
 */
static long
rpc_recv_some(int fd, unsigned char *p, size_t room, int *passed, long wait_ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct iovec iov = { p, room };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	for (;;) {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return KYSO_ERR_IO;
		if (!rpc_wait_readable(fd, wait_ms > 0 ? wait_ms : -1))
			return RPC_AGAIN;
	}
	if (mh.msg_controllen > 0)
		rpc_take_fds(&mh, passed);
	return (long)n;
}

int
rpc_recv(int fd, struct rpc_rx *rx, int *passed)
{
	size_t want = RPC_HEADER, have = 0;
	unsigned char *buf = rx->small;
	size_t cap = rx->small_cap;

	rx->frame = NULL;
	rx->len = 0;
	kbuf_reset(&rx->big);
	if (passed != NULL)
		*passed = -1;
	for (;;) {
		long n = rpc_recv_some(fd, buf + have, cap - have, passed, rx->wait_ms);

		if (n == RPC_AGAIN || n == KYSO_ERR_IO)
			return (int)n;
		if (n == 0)
			return have == 0 ? RPC_EOF : KYSO_ERR_PROTOCOL;
		have += (size_t)n;
		if (have < RPC_HEADER)
			continue;
		want = rpc_frame_len(buf);
		if (want < RPC_HEADER || want > RPC_FRAME_MAX)
			return KYSO_ERR_PROTOCOL;
		if (have > want)
			return KYSO_ERR_PROTOCOL;  /* one call at a time: nothing may follow */
		if (have == want)
			break;
		if (want > cap && buf == rx->small) {
			/* a large frame (what is signed, a certificate list): a secret is never
			 * in one (rpc_read_begin refuses it), so it may leave locked memory */
			int e;

			if ((e = kbuf_reserve(&rx->big, want)) != KYSO_OK)
				return e;
			memcpy(rx->big.data, buf, have);
			explicit_bzero(buf, have);
			buf = rx->big.data;
			cap = want;
		}
	}
	rx->frame = buf;
	rx->len = want;
	if (buf == rx->big.data)
		rx->big.len = want;
	return KYSO_OK;
}

void
rpc_rx_wipe(struct rpc_rx *rx)
{
	if (rx->frame == rx->small && rx->len > 0)
		explicit_bzero(rx->small, rx->len);
	kbuf_reset(&rx->big);
	rx->frame = NULL;
	rx->len = 0;
}

int
rpc_wait_readable(int fd, long ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n;

	do
		n = poll(&p, 1, ms < 0 ? -1 : (int)ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}
