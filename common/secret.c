/*
 * secret.c — secrets in locked, wiped memory: slots of an arena mapped, locked and
 * excluded from core dumps once (no system call per secret), else pages of their own.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kyso_err.h"
#include "log.h"
#include "secret.h"

#define SECRET_MAX 4096
#define ARENA_BYTES (64 * 1024)
#define ARENA_UNIT 64
#define ARENA_UNITS (ARENA_BYTES / ARENA_UNIT)

struct kyso_secret {
	size_t map_len;  /* bytes mapped for this secret alone, or 0: a slot of the arena */
	size_t len;      /* secret length */
	unsigned units;  /* arena units the slot spans */
	int locked;      /* its memory is mlock'ed */
	char data[];     /* len bytes and a NUL */
};

/* The arena: mapped at the first secret, never unmapped; a bit per unit in use. */
static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	unsigned char *base;  /* NULL: no arena (every secret gets pages of its own) */
	int locked;
	uint64_t used[ARENA_UNITS / 64];
} arena = { PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, NULL, 0, { 0 } };

static atomic_int warned;

static void
warn_unlocked(void)
{
	if (atomic_exchange(&warned, 1) == 0)
		log_warn("cannot lock secret memory (RLIMIT_MEMLOCK too low?); PINs may be "
		    "swapped out");
}

static void
arena_init(void)
{
	void *p = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);

	if (p == MAP_FAILED)
		return;  /* secrets get pages of their own */
	(void)madvise(p, ARENA_BYTES, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
	(void)madvise(p, ARENA_BYTES, MADV_WIPEONFORK);  /* a forked child sees zeros */
#endif
	arena.locked = mlock(p, ARENA_BYTES) == 0;
	if (!arena.locked)
		warn_unlocked();  /* kept apart, not dumped, wiped: only swap is possible */
	arena.base = p;
}

static int
unit_used(unsigned i)
{
	return (arena.used[i / 64] >> (i % 64)) & 1;
}

static void
units_mark(unsigned first, unsigned n, int used)
{
	for (unsigned i = first; i < first + n; i++) {
		if (used)
			arena.used[i / 64] |= (uint64_t)1 << (i % 64);
		else
			arena.used[i / 64] &= ~((uint64_t)1 << (i % 64));
	}
}

/* A slot of n units (first fit), or NULL when the arena is full or missing. */
static struct kyso_secret *
arena_take(unsigned n)
{
	struct kyso_secret *s = NULL;

	pthread_once(&arena.once, arena_init);
	if (arena.base == NULL)
		return NULL;
	pthread_mutex_lock(&arena.mu);
	for (unsigned i = 0, run = 0; i < ARENA_UNITS; i++) {
		if (unit_used(i)) {
			run = 0;
			continue;
		}
		if (++run == n) {
			units_mark(i + 1 - n, n, 1);
			s = (struct kyso_secret *)(arena.base + (size_t)(i + 1 - n) * ARENA_UNIT);
			break;
		}
	}
	pthread_mutex_unlock(&arena.mu);
	return s;
}

int
secret_new(const void *src, size_t len, struct kyso_secret **out)
{
	struct kyso_secret *s;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t need, map_len = 0;
	unsigned units;
	void *p;

	*out = NULL;
	if (len > SECRET_MAX)
		return KYSO_ERR_INVALID_ARG;
	need = sizeof(*s) + len + 1;
	units = (unsigned)((need + ARENA_UNIT - 1) / ARENA_UNIT);
	if ((s = arena_take(units)) != NULL) {
		s->locked = arena.locked;
		s->units = units;  /* the slot was wiped when it was last freed */
	} else {
		/* the arena is full (or missing): pages of its own, as before the arena */
		map_len = (need + page - 1) / page * page;
		p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
		if (p == MAP_FAILED)
			return KYSO_ERR_NOMEM;
		(void)madvise(p, map_len, MADV_DONTDUMP);
		s = p;
		s->units = 0;
		s->locked = mlock(p, map_len) == 0;
		if (!s->locked)
			warn_unlocked();
	}
	s->map_len = map_len;
	s->len = len;
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

int
secret_locked(const struct kyso_secret *s)
{
	return s->locked;
}

int
secret_in_arena(const struct kyso_secret *s)
{
	return s->map_len == 0;
}

void
secret_free(struct kyso_secret *s)
{
	size_t map_len;
	unsigned first, units;

	if (s == NULL)
		return;
	if ((map_len = s->map_len) != 0) {
		explicit_bzero(s, map_len);
		(void)munlock(s, map_len);
		(void)munmap(s, map_len);
		return;
	}
	units = s->units;
	first = (unsigned)(((unsigned char *)s - arena.base) / ARENA_UNIT);
	explicit_bzero(s, (size_t)units * ARENA_UNIT);  /* the whole slot, header too */
	pthread_mutex_lock(&arena.mu);
	units_mark(first, units, 0);
	pthread_mutex_unlock(&arena.mu);
}
