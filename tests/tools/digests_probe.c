/*
 * digests_probe — a program that signs a batch of digests through libkyso's public API
 * (kyso_sign_digests), as an application linking libkyso does (sign_digests.sh).
 *
 *   digests_probe CERT ALG OUTDIR N [PIN [DESCRIPTION]]
 *
 * Reads OUTDIR/doc.0 .. OUTDIR/doc.(N-1), signs their SHA-256 digests in one call on
 * $KYSO_SOCKET and writes each signature to OUTDIR/sig.I. Prints "ok", or the error's
 * varlink name (none: "-") and message, tab-separated. Exit 0 when it ran, 2 on misuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "kyso.h"

static int
read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (*data = malloc((size_t)n + 1)) == NULL ||
	    fread(*data, 1, (size_t)n, f) != (size_t)n) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	*len = (size_t)n;
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	kyso_client *c = NULL;
	kyso_sign_request *req = NULL;
	unsigned char *digests, **sigs = NULL;
	size_t *lens = NULL, n;
	char path[4096];
	int r;

	if (argc < 5 || (n = strtoul(argv[4], NULL, 10)) == 0 || n > 1000) {
		fprintf(stderr, "usage: digests_probe CERT ALG OUTDIR N [PIN [DESCRIPTION]]\n");
		return 2;
	}
	if ((digests = malloc(n * SHA256_DIGEST_LENGTH)) == NULL)
		return 2;
	for (size_t i = 0; i < n; i++) {
		unsigned char *doc;
		size_t len;

		snprintf(path, sizeof(path), "%s/doc.%zu", argv[3], i);
		if (read_file(path, &doc, &len) != 0) {
			fprintf(stderr, "digests_probe: cannot read %s\n", path);
			return 2;
		}
		SHA256(doc, len, digests + i * SHA256_DIGEST_LENGTH);
		free(doc);
	}
	if ((r = kyso_connect(NULL, &c)) != KYSO_OK ||
	    (r = kyso_sign_request_new(argv[1], argv[2], &req)) != KYSO_OK ||
	    (argc > 5 && argv[5][0] != '\0' &&
	    (r = kyso_sign_request_set_pin(req, argv[5])) != KYSO_OK) ||
	    (argc > 6 && (r = kyso_sign_request_set_description(req, argv[6])) != KYSO_OK) ||
	    (r = kyso_sign_digests(c, req, digests, SHA256_DIGEST_LENGTH, n, &sigs, &lens)) !=
	    KYSO_OK) {
		const char *name = c != NULL ? kyso_error_name(c) : "";

		printf("%s\t%s\n", name[0] != '\0' ? name : "-",
		    c != NULL ? kyso_error_message(c) : kyso_strerror(r));
	} else {
		for (size_t i = 0; i < n; i++) {
			FILE *f;

			snprintf(path, sizeof(path), "%s/sig.%zu", argv[3], i);
			if ((f = fopen(path, "wb")) == NULL ||
			    fwrite(sigs[i], 1, lens[i], f) != lens[i] || fclose(f) != 0) {
				fprintf(stderr, "digests_probe: cannot write %s\n", path);
				return 2;
			}
		}
		printf("ok\n");
	}
	kyso_signatures_free(sigs, lens, n);
	kyso_sign_request_free(req);
	kyso_disconnect(c);
	free(digests);
	return 0;
}
