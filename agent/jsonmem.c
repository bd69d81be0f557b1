/*
 * jsonmem.c — wiping allocators for jansson. Each block carries its size in a header so
 * that it can be wiped on free: strings parsed from a call (a PIN among them) do not linger
 * in freed heap memory.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonmem.h"

union jsonmem_head {
	size_t size;
	max_align_t align;
};

static void *
jsonmem_malloc(size_t n)
{
	union jsonmem_head *h;

	if (n > (size_t)-1 - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return NULL;
	h->size = n;
	return h + 1;
}

static void
jsonmem_free(void *p)
{
	union jsonmem_head *h;

	if (p == NULL)
		return;
	h = (union jsonmem_head *)p - 1;
	explicit_bzero(p, h->size);
	free(h);
}

void
jsonmem_install(void)
{
	json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
}
