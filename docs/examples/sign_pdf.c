/*
 * sign_pdf.c — sign PDF files with libkyso-pdf, then check them.
 *
 *   cc -o sign_pdf sign_pdf.c $(pkg-config --cflags --libs kyso-pdf)
 *   ./sign_pdf CERT_ID OUT_DIR IN.pdf...
 *
 * Every file is signed under one consent (the agent shows the officer the file names
 * and asks for the PIN once), with a visible signature in the lower right corner of the
 * last page, time-stamped if KYSO_TSA names an RFC 3161 time-stamp authority. Then each
 * signed file is verified against the system's CA certificates.
 */
#define _GNU_SOURCE  /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kyso.h>
#include <kyso_pdf.h>

static int
on_document(void *arg, size_t i, size_t total, int err, const char *message)
{
	const char *const *in = arg;

	if (err == KYSO_OK)
		printf("%zu/%zu %s: signed\n", i + 1, total, in[i]);
	else
		printf("%zu/%zu %s: not signed: %s\n", i + 1, total, in[i], message);
	return 0;  /* non-zero would stop the batch */
}

int
main(int argc, char **argv)
{
	kyso_client *c = NULL;
	kyso_pdf_options *o = NULL;
	char **out = NULL, *message = NULL;
	const char *tsa = getenv("KYSO_TSA");
	int n = argc - 3, r, rc = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: sign_pdf CERT_ID OUT_DIR IN.pdf...\n");
		return 2;
	}
	if ((r = kyso_connect(NULL, &c)) != KYSO_OK) {
		fprintf(stderr, "sign_pdf: %s\n", c != NULL ? kyso_error_message(c) : kyso_strerror(r));
		goto out;
	}
	if (kyso_pdf_options_new(&o) != KYSO_OK ||
	    kyso_pdf_options_set(o, KYSO_PDF_REASON, "Phê duyệt") != KYSO_OK ||
	    kyso_pdf_options_set(o, KYSO_PDF_LOCATION, "Hà Nội") != KYSO_OK ||
	    kyso_pdf_options_set_visible(o, -1, 330, 40, 230, 70) != KYSO_OK ||
	    (tsa != NULL && kyso_pdf_options_set(o, KYSO_PDF_TSA_URL, tsa) != KYSO_OK)) {
		fprintf(stderr, "sign_pdf: %s\n", kyso_pdf_options_error(o));
		goto out;
	}
	if ((out = calloc((size_t)n, sizeof(*out))) == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		const char *base = strrchr(argv[3 + i], '/');

		if (asprintf(&out[i], "%s/%s", argv[2], base != NULL ? base + 1 : argv[3 + i]) < 0)
			goto out;
	}
	r = kyso_sign_pdfs(c, argv[1], NULL, o, (size_t)n, (const char *const *)argv + 3,
	    (const char *const *)out, 0, "sign_pdf example", on_document, argv + 3, &message);
	if (r != KYSO_OK)
		fprintf(stderr, "sign_pdf: %s\n", message != NULL ? message : kyso_strerror(r));
	for (int i = 0; i < n; i++) {
		kyso_verify *v = NULL;

		if (kyso_verify_pdf(out[i], NULL, &v) == KYSO_OK && kyso_verify_count(v) > 0)
			printf("%s: %zu signature(s), %s; last by %s at %s\n", out[i],
			    kyso_verify_count(v), kyso_verify_valid(v) ? "valid" : "NOT valid",
			    kyso_verify_get(v, kyso_verify_count(v) - 1, "name"),
			    kyso_verify_get(v, kyso_verify_count(v) - 1, "claimed_time"));
		kyso_verify_free(v);
	}
	rc = r == KYSO_OK ? 0 : 1;
out:
	for (int i = 0; out != NULL && i < n; i++)
		free(out[i]);
	free(out);
	kyso_free(message);
	kyso_pdf_options_free(o);
	kyso_disconnect(c);
	return rc;
}
