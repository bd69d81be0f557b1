/*
 * pdf_emit.c — writing PDF syntax: the revision's writer, objects of the original
 * document written again with changes, and objects copied from another document (the
 * appearance cairo rendered) with their references renumbered.
 *
 * qpdf reads; every byte of the appended revision is written here. qpdf's dictionary
 * iterator is one per qpdf_data, so keys are collected before any value is visited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "pdf_internal.h"

void
pdfw_init(struct pdfw *w, size_t base)
{
	kbuf_init(&w->b, PDF_REVISION_MAX);
	w->err = KYSO_OK;
	w->base = base;
}

void
pdfw_free(struct pdfw *w)
{
	kbuf_free(&w->b);
}

size_t
pdfw_offset(const struct pdfw *w)
{
	return w->base + w->b.len;
}

void
pdfw_bytes(struct pdfw *w, const void *p, size_t n)
{
	if (w->err == KYSO_OK)
		w->err = kbuf_append(&w->b, p, n);
}

void
pdfw_printf(struct pdfw *w, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	if (w->err != KYSO_OK)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->err = KYSO_ERR_INTERNAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		pdfw_bytes(w, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		w->err = KYSO_ERR_NOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pdfw_bytes(w, big, (size_t)n);
	free(big);
}

void
pdfw_text_string(struct pdfw *w, const char *utf8)
{
	unsigned char *u;
	size_t n;
	int ascii = 1;

	for (const unsigned char *p = (const unsigned char *)utf8; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			ascii = 0;
	if (ascii) {
		pdfw_bytes(w, "(", 1);
		for (const char *p = utf8; *p != '\0'; p++) {
			if (*p == '(' || *p == ')' || *p == '\\')
				pdfw_bytes(w, "\\", 1);
			pdfw_bytes(w, p, 1);
		}
		pdfw_bytes(w, ")", 1);
		return;
	}
	if (w->err != KYSO_OK)
		return;
	if ((w->err = pdf_utf16be(utf8, &u, &n)) != KYSO_OK)
		return;
	pdfw_bytes(w, "<", 1);
	for (size_t i = 0; i < n; i++)
		pdfw_printf(w, "%02X", u[i]);
	pdfw_bytes(w, ">", 1);
	free(u);
}

void
pdfw_name(struct pdfw *w, const char *s)
{
	pdfw_bytes(w, "/", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e || strchr("#/()<>[]{}%", *p) != NULL)
			pdfw_printf(w, "#%02X", *p);
		else
			pdfw_bytes(w, p, 1);
	}
}

/* The keys of a dictionary, copied (qpdf's iterator is shared). NULL on NOMEM. */
static char **
dict_keys(qpdf_data q, qpdf_oh oh, size_t *n)
{
	char **keys = NULL, **nk;
	size_t cap = 0;

	*n = 0;
	qpdf_oh_begin_dict_key_iter(q, oh);
	while (qpdf_oh_dict_more_keys(q)) {
		const char *k = qpdf_oh_dict_next_key(q);

		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nk = realloc(keys, cap * sizeof(*keys))) == NULL)
				goto fail;
			keys = nk;
		}
		if ((keys[*n] = strdup(k)) == NULL)
			goto fail;
		(*n)++;
	}
	if (keys == NULL)
		keys = calloc(1, sizeof(*keys));
	return keys;
fail:
	for (size_t i = 0; i < *n; i++)
		free(keys[i]);
	free(keys);
	*n = 0;
	return NULL;
}

static void
keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Writes a key as a name (qpdf gives it with its '/' and escapes resolved). */
static void
emit_key(struct pdfw *w, const char *key)
{
	pdfw_name(w, key[0] == '/' ? key + 1 : key);
}

/* Writes a value of the original document: a reference, or the direct object. */
static void
emit_value(struct pdfw *w, qpdf_data q, qpdf_oh v)
{
	const char *text;

	if (qpdf_oh_is_indirect(q, v)) {
		pdfw_printf(w, "%d %d R", qpdf_oh_get_object_id(q, v),
		    qpdf_oh_get_generation(q, v));
		return;
	}
	text = qpdf_oh_unparse_binary(q, v);
	pdfw_bytes(w, text, qpdf_get_last_string_length(q));
}

int
pdf_emit_dict(struct pdfw *w, qpdf_data q, qpdf_oh oh, const struct pdf_override *ov,
    size_t nov)
{
	size_t n, j;
	char **keys = dict_keys(q, oh, &n);

	if (keys == NULL)
		return w->err = KYSO_ERR_NOMEM;
	pdfw_bytes(w, "<<", 2);
	for (size_t i = 0; i < n; i++) {
		qpdf_oh v;

		for (j = 0; j < nov && strcmp(ov[j].key, keys[i]) != 0; j++)
			;
		if (j < nov) {
			if (ov[j].text != NULL) {
				pdfw_bytes(w, " ", 1);
				emit_key(w, keys[i]);
				pdfw_printf(w, " %s", ov[j].text);
			}
			continue;
		}
		v = qpdf_oh_get_key(q, oh, keys[i]);
		if (qpdf_oh_is_null(q, v) && !qpdf_oh_is_indirect(q, v))
			continue;  /* a null value is the same as no entry */
		pdfw_bytes(w, " ", 1);
		emit_key(w, keys[i]);
		pdfw_bytes(w, " ", 1);
		emit_value(w, q, v);
		qpdf_oh_release(q, v);
	}
	for (j = 0; j < nov; j++) {
		int found = 0;

		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(ov[j].key, keys[i]) == 0;
		if (!found && ov[j].text != NULL) {
			pdfw_bytes(w, " ", 1);
			emit_key(w, ov[j].key);
			pdfw_printf(w, " %s", ov[j].text);
		}
	}
	pdfw_bytes(w, " >>", 3);
	keys_free(keys, n);
	if (qpdf_has_error(q) && w->err == KYSO_OK)
		w->err = KYSO_ERR_DOCUMENT;
	return w->err;
}

int
pdf_emit_array_append(struct pdfw *w, qpdf_data q, qpdf_oh oh, const char *extra)
{
	int n = oh != 0 ? qpdf_oh_get_array_n_items(q, oh) : 0;

	pdfw_bytes(w, "[", 1);
	for (int i = 0; i < n; i++) {
		qpdf_oh v = qpdf_oh_get_array_item(q, oh, i);

		if (i > 0)
			pdfw_bytes(w, " ", 1);
		emit_value(w, q, v);
		qpdf_oh_release(q, v);
	}
	if (extra != NULL)
		pdfw_printf(w, "%s%s", n > 0 ? " " : "", extra);
	pdfw_bytes(w, "]", 1);
	if (qpdf_has_error(q) && w->err == KYSO_OK)
		w->err = KYSO_ERR_DOCUMENT;
	return w->err;
}

/* The new number of the source object num, queued for copying if new. -1 on NOMEM. */
static int
copy_map(struct pdf_copy *c, int num)
{
	int *nf, *nt;

	for (size_t i = 0; i < c->n; i++)
		if (c->from[i] == num)
			return c->to[i];
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 16 : c->cap * 2;

		if ((nf = realloc(c->from, cap * sizeof(int))) == NULL)
			return -1;
		c->from = nf;
		if ((nt = realloc(c->to, cap * sizeof(int))) == NULL)
			return -1;
		c->to = nt;
		c->cap = cap;
	}
	c->from[c->n] = num;
	c->to[c->n] = c->next++;
	return c->to[c->n++];
}

/*
 * Writes a value of the source, with references renumbered; depth guards cycles. At depth
 * -1 the object itself is written, even though its handle is indirect.
 */
static int
copy_value(struct pdfw *w, struct pdf_copy *c, qpdf_oh oh, int depth)
{
	qpdf_data q = c->src;

	if (depth > 32)
		return w->err = KYSO_ERR_DOCUMENT;
	if (depth >= 0 && qpdf_oh_is_indirect(q, oh)) {
		int to = copy_map(c, qpdf_oh_get_object_id(q, oh));

		if (to < 0)
			return w->err = KYSO_ERR_NOMEM;
		pdfw_printf(w, "%d 0 R", to);
	} else if (qpdf_oh_is_dictionary(q, oh)) {
		size_t n;
		char **keys = dict_keys(q, oh, &n);

		if (keys == NULL)
			return w->err = KYSO_ERR_NOMEM;
		/* the page tree of the source stays behind */
		if (qpdf_oh_is_dictionary_of_type(q, oh, "/Page", "") ||
		    qpdf_oh_is_dictionary_of_type(q, oh, "/Pages", "")) {
			keys_free(keys, n);
			return w->err = KYSO_ERR_DOCUMENT;
		}
		pdfw_bytes(w, "<<", 2);
		for (size_t i = 0; i < n && w->err == KYSO_OK; i++) {
			qpdf_oh v = qpdf_oh_get_key(q, oh, keys[i]);

			pdfw_bytes(w, " ", 1);
			emit_key(w, keys[i]);
			pdfw_bytes(w, " ", 1);
			copy_value(w, c, v, depth + 1);
			qpdf_oh_release(q, v);
		}
		pdfw_bytes(w, " >>", 3);
		keys_free(keys, n);
	} else if (qpdf_oh_is_array(q, oh)) {
		int n = qpdf_oh_get_array_n_items(q, oh);

		pdfw_bytes(w, "[", 1);
		for (int i = 0; i < n && w->err == KYSO_OK; i++) {
			qpdf_oh v = qpdf_oh_get_array_item(q, oh, i);

			if (i > 0)
				pdfw_bytes(w, " ", 1);
			copy_value(w, c, v, depth + 1);
			qpdf_oh_release(q, v);
		}
		pdfw_bytes(w, "]", 1);
	} else if (depth < 0) {
		/* an object that is a number or a string (a stream's /Length...) */
		const char *text = qpdf_oh_unparse_resolved(q, oh);

		pdfw_bytes(w, text, strlen(text));
	} else {
		emit_value(w, q, oh);
	}
	if (qpdf_has_error(q) && w->err == KYSO_OK)
		w->err = KYSO_ERR_DOCUMENT;
	return w->err;
}

int
pdf_copy_value(struct pdfw *w, struct pdf_copy *c, qpdf_oh oh)
{
	return copy_value(w, c, oh, 0);
}

/* Writes one source object (a stream with its raw data) as new object num. */
static int
copy_object(struct pdfw *w, struct pdf_copy *c, int from, int num)
{
	qpdf_data q = c->src;
	qpdf_oh oh = qpdf_get_object_by_id(q, from, 0);

	pdfw_printf(w, "%d 0 obj\n", num);
	if (qpdf_oh_is_stream(q, oh)) {
		qpdf_oh dict = qpdf_oh_get_dict(q, oh);
		unsigned char *data = NULL;
		size_t len = 0, n;
		char **keys;

		if (qpdf_oh_get_stream_data(q, oh, qpdf_dl_none, NULL, &data, &len) &
		    QPDF_ERRORS) {
			free(data);
			return w->err = KYSO_ERR_DOCUMENT;
		}
		if ((keys = dict_keys(q, dict, &n)) == NULL) {
			free(data);
			return w->err = KYSO_ERR_NOMEM;
		}
		pdfw_bytes(w, "<<", 2);
		for (size_t i = 0; i < n && w->err == KYSO_OK; i++) {
			qpdf_oh v;

			if (strcmp(keys[i], "/Length") == 0)
				continue;
			v = qpdf_oh_get_key(q, dict, keys[i]);
			pdfw_bytes(w, " ", 1);
			emit_key(w, keys[i]);
			pdfw_bytes(w, " ", 1);
			copy_value(w, c, v, 1);
			qpdf_oh_release(q, v);
		}
		keys_free(keys, n);
		pdfw_printf(w, " /Length %zu >>\nstream\n", len);
		pdfw_bytes(w, data, len);
		pdfw_bytes(w, "\nendstream\nendobj\n", 18);
		free(data);
		qpdf_oh_release(q, dict);
	} else {
		copy_value(w, c, oh, -1);
		pdfw_bytes(w, "\nendobj\n", 8);
	}
	qpdf_oh_release(q, oh);
	return w->err;
}

int
pdf_copy_flush(struct pdfw *w, struct pdf_copy *c,
    int (*note)(void *arg, int num, int gen, size_t offset), void *arg)
{
	int r;

	/* copying an object may queue more: go on until none is left */
	while (c->done < c->n && w->err == KYSO_OK) {
		size_t i = c->done++;

		if ((r = note(arg, c->to[i], 0, pdfw_offset(w))) != KYSO_OK)
			return w->err = r;
		copy_object(w, c, c->from[i], c->to[i]);
	}
	return w->err;
}

void
pdf_copy_free(struct pdf_copy *c)
{
	free(c->from);
	free(c->to);
	c->from = c->to = NULL;
	c->n = c->cap = c->done = 0;
}
