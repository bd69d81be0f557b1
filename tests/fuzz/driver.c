/*
 * driver.c — runs a fuzz target without libFuzzer: every corpus file as it is, then
 * ITERATIONS deterministic mutations of them (bit flips, byte changes, splices, cuts).
 * Usage: fuzz_call_smoke [-n ITERATIONS] FILE...   Exit 0 when nothing crashed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *data;
	size_t size;
};

static uint64_t rng = 0x6b79736f;  /* fixed seed: runs repeat exactly */

static uint32_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

int
main(int argc, char **argv)
{
	static const char *const tokens[] = { "\"", "\\u0000", "{", "}", "[", "]", ",", ":",
		"null", "true", "1e999", "-0", "\"method\"", "\"parameters\"", "\\", "\x00",
		"\"io.kyso.Agent.Sign\"", "\"pkcs11:id=%", "AAAA", "====" };
	struct input *in = NULL;
	size_t n = 0, total = 0;
	long iters = 10000;
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		iters = strtol(argv[2], NULL, 10);
		i = 3;
	}
	for (; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t buf[65536];
		size_t len;

		if (f == NULL) {
			perror(argv[i]);
			return 2;
		}
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		in = realloc(in, (n + 1) * sizeof(*in));
		in[n].data = malloc(len + 1);
		memcpy(in[n].data, buf, len);
		in[n].size = len;
		LLVMFuzzerTestOneInput(in[n].data, len);
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "usage: %s [-n ITERATIONS] CORPUS_FILE...\n", argv[0]);
		return 2;
	}
	for (long k = 0; k < iters; k++) {
		const struct input *src = &in[next() % n];
		size_t cap = src->size + 64, len = src->size;
		uint8_t *m = malloc(cap);
		int edits = 1 + next() % 4;

		memcpy(m, src->data, len);
		while (edits-- > 0) {
			size_t pos = len > 0 ? next() % len : 0;
			const char *t;
			size_t tl;

			switch (next() % 5) {
			case 0:  /* flip a bit */
				if (len > 0)
					m[pos] ^= (uint8_t)(1u << (next() % 8));
				break;
			case 1:  /* replace a byte */
				if (len > 0)
					m[pos] = (uint8_t)next();
				break;
			case 2:  /* cut the tail */
				len = pos;
				break;
			case 3:  /* insert a JSON-ish token */
				t = tokens[next() % (sizeof(tokens) / sizeof(tokens[0]))];
				tl = strlen(t) > 0 ? strlen(t) : 1;
				if (len + tl <= cap) {
					memmove(m + pos + tl, m + pos, len - pos);
					memcpy(m + pos, t, tl);
					len += tl;
				}
				break;
			default:  /* duplicate a slice */
				if (len > 0 && len + 16 <= cap) {
					size_t sl = 1 + next() % 16;

					if (pos + sl > len)
						sl = len - pos;
					memmove(m + pos + sl, m + pos, len - pos);
					len += sl;
				}
				break;
			}
		}
		LLVMFuzzerTestOneInput(m, len);
		total += len;
		free(m);
	}
	printf("fuzz smoke: %zu corpus inputs, %ld mutations (%zu bytes), no crash\n", n, iters,
	    total);
	for (size_t k = 0; k < n; k++)
		free(in[k].data);
	free(in);
	return 0;
}
