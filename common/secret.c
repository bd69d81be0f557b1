/* secret.c — secrets in locked, wiped memory. */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kyso_err.h"
#include "log.h"
#include "secret.h"

#define SECRET_MAX 4096

struct kyso_secret {
	size_t map_len;  /* bytes mapped, a whole number of pages */
	size_t len;      /* secret length */
	int locked;      /* mlock succeeded */
	char data[];     /* len bytes and a NUL */
};

int
secret_new(const void *src, size_t len, struct kyso_secret **out)
{
	static atomic_int warned;
	struct kyso_secret *s;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t need, map_len;
	void *p;

	*out = NULL;
	if (len > SECRET_MAX)
		return KYSO_ERR_INVALID_ARG;
	need = sizeof(*s) + len + 1;
	map_len = (need + page - 1) / page * page;
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return KYSO_ERR_NOMEM;
	(void)madvise(p, map_len, MADV_DONTDUMP);
	s = p;
	s->map_len = map_len;
	s->len = len;
	s->locked = mlock(p, map_len) == 0;
	if (!s->locked && atomic_exchange(&warned, 1) == 0)
		log_warn("cannot lock secret memory (RLIMIT_MEMLOCK too low?); PINs may be "
		    "swapped out");
	if (len > 0 && src != NULL)
		memcpy(s->data, src, len);
	s->data[len] = '\0';
	*out = s;
	return KYSO_OK;
}

int
secret_alloc(size_t len, struct kyso_secret **out)
{
	return secret_new(NULL, len, out);
}

unsigned char *
secret_buf(struct kyso_secret *s)
{
	return (unsigned char *)s->data;
}

const char *
secret_data(const struct kyso_secret *s)
{
	return s->data;
}

size_t
secret_len(const struct kyso_secret *s)
{
	return s->len;
}

void
secret_free(struct kyso_secret *s)
{
	size_t map_len;

	if (s == NULL)
		return;
	map_len = s->map_len;
	explicit_bzero(s, map_len);
	(void)munlock(s, map_len);
	(void)munmap(s, map_len);
}
