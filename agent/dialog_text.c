/*
 * dialog_text.c — a program's words made safe to show in a dialog: control characters,
 * line separators and bidirectional controls neutralised, texts cut between characters
 * or in the middle (see dialog_text.h).
 */
#include <stdio.h>
#include <string.h>

#include "dialog_text.h"
#include "encode.h"

/*
 * Returns 1 if the character of the k-byte UTF-8 sequence at p (k > 1) would let a
 * program's text redraw the dialog around it: a C1 control (U+0080..U+009F, such as
 * NEXT LINE, a line break to some toolkits), the line and paragraph separators, and the
 * bidirectional marks, embeddings, overrides and isolates, which reorder what follows
 * them ("invoice<U+202E>fdp.exe" reads "invoiceexe.pdf").
 */
static int
dialog_format_char(const unsigned char *p, size_t k)
{
	unsigned cp = k == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu) :
	    k == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu) : 0;

	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Copies the client's text for display: at most max characters, cut between two
 * characters; control characters (other than line breaks, at most breaks_max of them),
 * separators and bidirectional controls (dialog_format_char) and bytes that are not
 * UTF-8 become spaces, so that it cannot redraw the dialog.
 */
void
dialog_clean(const char *in, char *out, size_t len, size_t max, int breaks_max)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, chars = 0, k;
	int breaks = 0;

	for (; *p != '\0' && chars < max; p += k, chars++) {
		k = utf8_seq(p);
		if (i + (k > 0 ? k : 1) + 4 >= len)
			break;
		if (k > 1 && dialog_format_char(p, k)) {
			out[i++] = ' ';
			continue;
		}
		if (k > 1) {
			memcpy(out + i, p, k);
			i += k;
			continue;
		}
		k = 1;
		if (*p == '\n' && breaks < breaks_max) {
			breaks++;
			out[i++] = '\n';
		} else {
			out[i++] = *p < 0x20 || *p >= 0x7f ? ' ' : (char)*p;
		}
	}
	if (*p != '\0')
		i += (size_t)snprintf(out + i, len - i, "...");
	out[i < len ? i : len - 1] = '\0';
}

/*
 * Copies in (already cleaned: valid UTF-8) to out, cut in the middle to at most max
 * characters when longer: the start and the end stay (a name's distinguishing suffix and
 * its extension, a path's program name), "…" between them.
 */
void
dialog_mid_cut(const char *in, char *out, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t chars = 0, k, head, tail, i = 0, c = 0;

	for (const unsigned char *q = p; *q != '\0'; q += k, chars++)
		k = (k = utf8_seq(q)) > 0 ? k : 1;
	if (chars <= max || max < 3) {
		snprintf(out, len, "%s", in);
		return;
	}
	tail = (max - 1) / 3;
	head = max - 1 - tail;
	for (; *p != '\0'; p += k, c++) {
		k = (k = utf8_seq(p)) > 0 ? k : 1;
		if (c == head && i + 3 < len) {
			memcpy(out + i, "\xe2\x80\xa6", 3);  /* … */
			i += 3;
		}
		if ((c < head || c >= chars - tail) && i + k < len) {
			memcpy(out + i, p, k);
			i += k;
		}
	}
	out[i] = '\0';
}
