/*
 * libkyso_client.c — a desktop app's view of libkyso, for tests/integration/libkyso.sh:
 * lists tokens and certificates, signs a SHA-256 digest with the first certificate that
 * can sign ECDSA, writes the DER signature to argv[2]; then shows how errors come back.
 */
#include <stdio.h>
#include <string.h>

#include <kyso.h>

int
main(int argc, char **argv)
{
	struct kyso_token *tokens;
	struct kyso_cert *certs;
	struct kyso_sign_request req = { 0 };
	unsigned char *sig, digest[32];
	size_t nt, nc, siglen;
	kyso_client *c;
	int e;

	if (argc != 4) {
		fprintf(stderr, "usage: %s HEXDIGEST OUT PIN\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < 32; i++)
		sscanf(argv[1] + 2 * i, "%2hhx", &digest[i]);
	if ((e = kyso_connect(NULL, &c)) != KYSO_OK) {
		printf("connect: %s\n", c ? kyso_error_message(c) : kyso_strerror(e));
		kyso_disconnect(c);
		return 1;
	}
	if (kyso_list_tokens(c, &tokens, &nt) != KYSO_OK ||
	    kyso_list_certificates(c, NULL, &certs, &nc) != KYSO_OK) {
		printf("list: %s\n", kyso_error_message(c));
		return 1;
	}
	printf("tokens %zu, first label %s\n", nt, nt ? tokens[0].label : "-");
	for (size_t i = 0; i < nc; i++) {
		if (!certs[i].can_sign || strcmp(certs[i].key_type, "ec") != 0)
			continue;
		printf("certificate %s subject %s\n", certs[i].id, certs[i].subject);
		req.certificate = certs[i].id;
		break;
	}
	req.algorithm = "ecdsa-sha256";
	req.digest = digest;
	req.digest_len = sizeof(digest);
	req.description = "libkyso test";
	e = kyso_sign(c, &req, &sig, &siglen);
	printf("without pin: %s (%s, %s)\n", kyso_strerror(e), kyso_error_name(c),
	    kyso_error_message(c));
	req.pin = argv[3];
	if ((e = kyso_sign(c, &req, &sig, &siglen)) != KYSO_OK) {
		printf("sign: %s\n", kyso_error_message(c));
		return 1;
	}
	FILE *f = fopen(argv[2], "wb");
	fwrite(sig, 1, siglen, f);
	fclose(f);
	kyso_free(sig);
	req.digest_len = 31;
	e = kyso_sign(c, &req, &sig, &siglen);
	printf("short digest: %d %s %s\n", e == KYSO_ERR_INVALID_DIGEST, kyso_error_name(c),
	    kyso_error_parameters(c));
	kyso_certs_free(certs, nc);
	kyso_tokens_free(tokens, nt);
	kyso_disconnect(c);
	return 0;
}
