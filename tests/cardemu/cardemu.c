/*
 * tests/cardemu/cardemu.c — a virtual smart card for the kyso tests.
 *
 * Emulates a CAC card with libcacard (its keys and certificates live in an NSS database;
 * the database password is the card PIN) and plugs it into the vsmartcard virtual reader
 * "vpcd" that pcscd loads: cardemu is the TCP client, vpcd the server. OpenSC's CAC driver
 * then sees a real card through PC/SC.
 *
 *   cardemu --db DIR --cert NICK [--cert NICK]... [--host ADDR] [--port N]
 *           [--pidfile FILE] [--state FILE] [--pulled] [--verbose]
 *
 *   --db DIR      NSS database (a bare directory means "sql:DIR")
 *   --cert NICK   nickname of a certificate (with its private key) to put on the card;
 *                 up to 3, in card order
 *   --host/--port where vpcd listens (default 127.0.0.1 35963)
 *   --pidfile F   written (atomically) once the card is built
 *   --state F     rewritten (atomically) on every change with one word: "inserted"
 *                 (connected to vpcd), "connecting" (inserted but vpcd not reached yet)
 *                 or "pulled"
 *   --pulled      start with the card out of the reader
 *   --verbose     log every message exchanged with vpcd on stderr
 *
 * Control, by signal:
 *   SIGUSR1   pull the card: power it off and close the connection to vpcd, which then
 *             reports an empty reader to pcscd
 *   SIGUSR2   insert the card: connect to vpcd again (retried every 100 ms until it works);
 *             the card comes back powered off, so its login state is gone as on a real
 *             card
 *   SIGTERM, SIGINT   exit with status 0
 * If vpcd closes the connection (pcscd stopped) while the card is inserted, cardemu keeps
 * trying to reconnect.
 *
 * Output on stdout, one line each: "cardemu: ready pid N" once the card is built (after
 * the pid file is written), "cardemu: inserted", "cardemu: pulled", "cardemu: exit".
 *
 * The vpcd protocol: every message, both ways, is a 2-byte big-endian length and a
 * payload. From vpcd, a 1-byte payload is a control code (0 power off, 1 power on,
 * 2 reset, 4 get ATR: only the last one is answered, with the ATR); a longer payload is a
 * command APDU, answered with the response APDU. vpcd asks for the ATR every time pcscd
 * polls the reader, so answering it must not touch the card's state.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libcacard.h>

#define MAX_CERTS 3
#define MSG_MAX 0xFFFF
#define RECONNECT_MS 100
#define IO_TIMEOUT_S 10

enum { CTRL_OFF = 0, CTRL_ON = 1, CTRL_RESET = 2, CTRL_ATR = 4 };

struct emu {
	const char *host;
	const char *port;
	const char *state_file;
	bool verbose;
	VReader *reader;
	unsigned char atr[64];
	int atr_len;
	int sock;		/* connection to vpcd, -1 when none */
	bool want_inserted;	/* the card is in the reader (or trying to get there) */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("cardemu: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx_(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "cardemu: [%ld.%03ld] ", (long)ts.tv_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Write TEXT to PATH through a temporary file and rename, so readers never see half. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof tmp)
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fputs(text, f) == EOF) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void set_state(struct emu *e, const char *word)
{
	char line[32];

	if (!e->state_file)
		return;
	snprintf(line, sizeof line, "%s\n", word);
	if (write_atomic(e->state_file, line) != 0)
		warnx_("cannot write %s: %s", e->state_file, strerror(errno));
}

/* ---- talking to vpcd ---- */

static int send_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read exactly N bytes; 0 on success, 1 on a clean end of stream before any byte, -1 on
 * error. vpcd writes a message's length and its payload in two writes without TCP_NODELAY,
 * so its Nagle algorithm holds the payload until the length is acknowledged: a delayed ACK
 * here would cost 40 ms per APDU (4 signatures a second, 1.5 s per C_Initialize).
 * TCP_QUICKACK makes us acknowledge at once; the kernel drops it again, so every read
 * re-arms it. */
static int recv_all(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	int one = 1;

	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, 0);

		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && got == 0)
			return 1;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One message: length and payload in a single send (no Nagle delay between them). */
static int send_msg(int fd, const unsigned char *payload, size_t len)
{
	unsigned char buf[2 + MSG_MAX];

	if (len > MSG_MAX)
		return -1;
	buf[0] = (unsigned char)(len >> 8);
	buf[1] = (unsigned char)(len & 0xff);
	memcpy(buf + 2, payload, len);
	return send_all(fd, buf, len + 2);
}

static int connect_vpcd(const struct emu *e)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	int fd = -1, one = 1;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	if (getaddrinfo(e->host, e->port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	/* APDUs are small request/response pairs: never wait to coalesce or to acknowledge
	 * them (see recv_all); and a peer that stops mid-message must not hang us */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

static void disconnect(struct emu *e)
{
	if (e->sock >= 0) {
		close(e->sock);
		e->sock = -1;
	}
}

static void try_insert(struct emu *e)
{
	e->sock = connect_vpcd(e);
	if (e->sock >= 0) {
		set_state(e, "inserted");
		say("inserted");
	}
}

static void pull(struct emu *e)
{
	vreader_power_off(e->reader);
	disconnect(e);
	set_state(e, "pulled");
	say("pulled");
}

/* Handle one message from vpcd. Returns -1 when the connection is gone. */
static int serve_one(struct emu *e)
{
	static unsigned char in[MSG_MAX], out[MSG_MAX + 2];
	unsigned char hdr[2], scratch[64];
	size_t len;
	int r, out_len, scratch_len;

	r = recv_all(e->sock, hdr, sizeof hdr);
	if (r != 0) {
		if (r < 0)
			warnx_("reading from vpcd: %s", strerror(errno));
		return -1;
	}
	len = ((size_t)hdr[0] << 8) | hdr[1];
	if (len == 0)
		return 0;
	if (recv_all(e->sock, in, len) != 0) {
		warnx_("vpcd message cut short");
		return -1;
	}
	if (len == 1) {
		if (e->verbose)
			warnx_("control %u", in[0]);
		switch (in[0]) {
		case CTRL_OFF:
			vreader_power_off(e->reader);
			return 0;
		case CTRL_RESET:
			vreader_power_off(e->reader);
			/* fall through */
		case CTRL_ON:
			scratch_len = (int)sizeof scratch;
			vreader_power_on(e->reader, scratch, &scratch_len);
			return 0;
		case CTRL_ATR:
			return send_msg(e->sock, e->atr, (size_t)e->atr_len);
		default:
			warnx_("unknown control code %u ignored", in[0]);
			return 0;
		}
	}
	out_len = (int)sizeof out;
	if (vreader_xfr_bytes(e->reader, in, (int)len, out, &out_len) != VREADER_OK ||
	    out_len < 2) {
		out[0] = 0x6F;	/* no precise diagnosis */
		out[1] = 0x00;
		out_len = 2;
	}
	if (e->verbose)
		warnx_("APDU ins %02X (%zu bytes) -> SW %02X%02X (%d bytes)", in[1], len,
		       out[out_len - 2], out[out_len - 1], out_len);
	return send_msg(e->sock, out, (size_t)out_len);
}

/* ---- the card ---- */

static VReader *first_reader(void)
{
	VReaderList *list = vreader_get_reader_list();
	VReaderListEntry *entry;
	VReader *reader = NULL;

	if (!list)
		return NULL;
	entry = vreader_list_get_first(list);
	if (entry)
		reader = vreader_list_get_reader(entry);
	vreader_list_delete(list);
	return reader;
}

static int build_card(struct emu *e, const char *db, const char *const *certs, int ncerts)
{
	GString *opt = g_string_new(NULL);
	VCardEmulOptions *options;
	VCardEmulError rc;

	/* libcacard's option syntax: the card is a "soft" card in the NSS internal key slot
	 * (empty slot name), presented in a virtual reader of its own, emulating CAC */
	g_string_append_printf(opt, "db=\"%s%s\" use_hw=no soft=(,kyso-cardemu,CAC,",
			       strchr(db, ':') ? "" : "sql:", db);
	for (int i = 0; i < ncerts; i++)
		g_string_append_printf(opt, ",%s", certs[i]);
	g_string_append(opt, ")");
	options = vcard_emul_options(opt->str);
	g_string_free(opt, TRUE);
	if (!options) {
		warnx_("bad libcacard options");
		return -1;
	}
	rc = vcard_emul_init(options);
	if (rc != VCARD_EMUL_OK) {
		warnx_("libcacard could not build the card (NSS database %s, certificates "
		       "present with their keys?)", db);
		return -1;
	}
	e->reader = first_reader();
	if (!e->reader || vreader_card_is_present(e->reader) != VREADER_OK) {
		warnx_("libcacard made no card");
		return -1;
	}
	/* the ATR is fixed for this card; take it once, then leave the card off until
	 * the reader powers it */
	e->atr_len = (int)sizeof e->atr;
	if (vreader_power_on(e->reader, e->atr, &e->atr_len) != VREADER_OK || e->atr_len <= 0) {
		warnx_("the card gave no ATR");
		return -1;
	}
	vreader_power_off(e->reader);
	return 0;
}

static void usage(void)
{
	fputs("usage: cardemu --db DIR --cert NICK [--cert NICK]... [--host ADDR] "
	      "[--port N]\n               [--pidfile FILE] [--state FILE] [--pulled] "
	      "[--verbose]\n(see the top of tests/cardemu/cardemu.c)\n", stderr);
}

int main(int argc, char **argv)
{
	struct emu e = { .host = "127.0.0.1", .port = "35963", .sock = -1,
			 .want_inserted = true };
	const char *db = NULL, *pidfile = NULL, *certs[MAX_CERTS];
	int ncerts = 0, sfd;
	sigset_t sigs;
	char line[64];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--pulled")) {
			e.want_inserted = false;
			continue;
		}
		if (!strcmp(a, "--verbose")) {
			e.verbose = true;
			continue;
		}
		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(a, "--db"))
			db = v;
		else if (!strcmp(a, "--cert") && ncerts < MAX_CERTS &&
			 !strpbrk(v, ",() \t\n\""))
			certs[ncerts++] = v;
		else if (!strcmp(a, "--host"))
			e.host = v;
		else if (!strcmp(a, "--port"))
			e.port = v;
		else if (!strcmp(a, "--pidfile"))
			pidfile = v;
		else if (!strcmp(a, "--state"))
			e.state_file = v;
		else {
			usage();
			return 2;
		}
	}
	if (!db || ncerts == 0 || strchr(db, '"')) {
		usage();
		return 2;
	}

	/* signals arrive through a signalfd; block them before NSS starts any thread */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0 ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		warnx_("signalfd: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	if (build_card(&e, db, certs, ncerts) != 0)
		return 1;
	set_state(&e, e.want_inserted ? "connecting" : "pulled");
	snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (pidfile && write_atomic(pidfile, line) != 0) {
		warnx_("cannot write %s: %s", pidfile, strerror(errno));
		return 1;
	}
	say("ready pid %ld", (long)getpid());

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = e.sock, .events = POLLIN },
		};
		int timeout = -1;

		if (e.want_inserted && e.sock < 0) {
			try_insert(&e);
			if (e.sock < 0)
				timeout = RECONNECT_MS;
			pfd[1].fd = e.sock;
		}
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			warnx_("poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
				continue;
			if (si.ssi_signo == SIGUSR1) {
				e.want_inserted = false;
				pull(&e);
			} else if (si.ssi_signo == SIGUSR2) {
				if (!e.want_inserted) {
					e.want_inserted = true;
					set_state(&e, "connecting");
				}
			} else {
				break;
			}
			continue;
		}
		if (e.sock >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (serve_one(&e) != 0) {
				/* vpcd went away (pcscd stopped): the card stays "inserted" and
				 * reconnects; remember it is off now */
				vreader_power_off(e.reader);
				disconnect(&e);
				set_state(&e, "connecting");
				say("vpcd closed the connection; reconnecting");
			}
		}
	}
	disconnect(&e);
	vreader_free(e.reader);
	vcard_emul_finalize();
	close(sfd);
	say("exit");
	return 0;
}
