/* nm_frame.c — native-messaging messages on a pipe (see nm_frame.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kyso_err.h"
#include "nm_frame.h"

/* Reads exactly len bytes. Returns the bytes read before the end (len when complete),
 * or -1 on an error. */
static ssize_t
read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
nm_read(int fd, char **body, uint32_t *len)
{
	unsigned char hdr[4];
	ssize_t n;
	char *b;

	*body = NULL;
	*len = 0;
	if ((n = read_full(fd, hdr, sizeof(hdr))) < 0)
		return KYSO_ERR_IO;
	if (n == 0)
		return KYSO_ERR_DISCONNECTED;
	if (n < (ssize_t)sizeof(hdr))
		return KYSO_ERR_PROTOCOL;
	memcpy(len, hdr, sizeof(*len));   /* the machine's own byte order */
	if (*len > NM_IN_MAX)
		return KYSO_ERR_TOO_LARGE;   /* refused before a byte of the body is read */
	if ((b = malloc((size_t)*len + 1)) == NULL)
		return KYSO_ERR_NOMEM;
	if ((n = read_full(fd, b, *len)) < 0) {
		free(b);
		return KYSO_ERR_IO;
	}
	if ((size_t)n < *len) {
		free(b);
		return KYSO_ERR_PROTOCOL;
	}
	b[*len] = '\0';
	*body = b;
	return KYSO_OK;
}

int
nm_write(int fd, const char *json, size_t len)
{
	unsigned char hdr[4];
	uint32_t l = (uint32_t)len;
	const char *parts[2] = { (const char *)hdr, json };
	size_t sizes[2] = { sizeof(hdr), len };
	ssize_t n;

	if (len > NM_OUT_MAX)
		return KYSO_ERR_TOO_LARGE;
	memcpy(hdr, &l, sizeof(hdr));
	for (int i = 0; i < 2; i++) {
		for (size_t done = 0; done < sizes[i]; done += (size_t)n) {
			n = write(fd, parts[i] + done, sizes[i] - done);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0)
				return KYSO_ERR_IO;
		}
	}
	return KYSO_OK;
}
