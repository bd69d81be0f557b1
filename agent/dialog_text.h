/*
 * dialog_text.h — cleaning and cutting the texts dialogs.c shows (a program's words, a
 * document's name, an executable's path).
 */
#ifndef KYSO_DIALOG_TEXT_H
#define KYSO_DIALOG_TEXT_H

#include <stddef.h>

/*
 * Copies in for display into out (len bytes): at most max characters, cut between two
 * characters ("..." after a cut); control characters (other than line breaks, at most
 * breaks_max of them), line separators, bidirectional controls and bytes that are not
 * UTF-8 become spaces, so that the text cannot redraw the dialog around it.
 */
void dialog_clean(const char *in, char *out, size_t len, size_t max, int breaks_max);

/*
 * Copies in (valid UTF-8, as dialog_clean leaves it) into out (len bytes), cut in the
 * middle to at most max characters when longer: the start and the end stay, "…" between.
 */
void dialog_mid_cut(const char *in, char *out, size_t len, size_t max);

#endif
