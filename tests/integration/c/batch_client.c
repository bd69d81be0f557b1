/*
 * batch_client.c — a program signing documents through libkyso's kyso_batch_* API, for
 * tests/integration/documents_batch.sh. Reads "NAME HEXDIGEST" lines (SHA-256) from
 * stdin, signs them as one batch with the certificate argv[1], writes each CMS to
 * OUTDIR/NAME.p7s, and prints what became of each document. With STOP > 0, its progress
 * callback stops the batch after STOP documents (the connection is closed).
 *
 *   batch_client CERT OUTDIR STOP [PIN]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kyso.h>

struct progress {
	size_t seen, stop;
};

static int
on_progress(void *arg, size_t index, size_t total, int err)
{
	struct progress *p = arg;

	p->seen++;
	printf("progress %zu/%zu %s\n", index + 1, total, err == KYSO_OK ? "signed" :
	    kyso_strerror(err));
	fflush(stdout);
	return p->stop > 0 && p->seen >= p->stop;
}

int
main(int argc, char **argv)
{
	struct progress p = { 0, 0 };
	char line[1024], name[512], hex[129], path[2048];
	unsigned char digest[32];
	kyso_client *c = NULL;
	kyso_batch *b = NULL;
	size_t n = 0;
	int e;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s CERT OUTDIR STOP [PIN]\n", argv[0]);
		return 2;
	}
	p.stop = (size_t)strtoul(argv[3], NULL, 10);
	if (kyso_batch_new(argv[1], &b) != KYSO_OK ||
	    kyso_batch_set_description(b, "batch_client test") != KYSO_OK ||
	    (argc == 5 && kyso_batch_set_pin(b, argv[4]) != KYSO_OK)) {
		fprintf(stderr, "cannot make the batch\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (sscanf(line, "%511s %128s", name, hex) != 2 || strlen(hex) != 64)
			continue;
		for (int i = 0; i < 32; i++)
			sscanf(hex + 2 * i, "%2hhx", &digest[i]);
		if ((e = kyso_batch_add(b, name, "sha256", digest, sizeof(digest), NULL, NULL)) !=
		    KYSO_OK) {
			fprintf(stderr, "add %s: %s\n", name, kyso_strerror(e));
			return 1;
		}
		n++;
	}
	/* what a caller gets from a batch not signed yet */
	printf("before: count %zu result %d\n", kyso_batch_count(b),
	    kyso_batch_result(b, 0, NULL, NULL));
	if ((e = kyso_connect(NULL, &c)) != KYSO_OK) {
		printf("connect: %s\n", c != NULL ? kyso_error_message(c) : kyso_strerror(e));
		kyso_disconnect(c);
		return 1;
	}
	e = kyso_sign_batch(c, b, on_progress, &p);
	printf("rc %d (%s) stopped '%s' batch '%s'\n", e, e == KYSO_OK ? "ok" :
	    kyso_error_message(c), kyso_batch_stopped(b), kyso_batch_id(b));
	for (size_t i = 0; i < kyso_batch_count(b); i++) {
		const unsigned char *cms;
		size_t len;
		int de = kyso_batch_result(b, i, &cms, &len);
		FILE *f;

		if (de != KYSO_OK) {
			printf("document %zu: %s: %s\n", i, kyso_err_varlink(de),
			    kyso_batch_message(b, i));
			continue;
		}
		printf("document %zu: signed, %zu bytes\n", i, len);
		snprintf(path, sizeof(path), "%s/%zu.p7s", argv[2], i);
		if ((f = fopen(path, "wb")) == NULL || fwrite(cms, 1, len, f) != len ||
		    fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", path);
			return 1;
		}
	}
	printf("out of range: %d\n", kyso_batch_result(b, n, NULL, NULL));
	kyso_batch_free(b);
	kyso_disconnect(c);
	return e == KYSO_OK ? 0 : 3;
}
