/*
 * libkyso_client.c — a desktop app's view of libkyso, for tests/integration/libkyso.sh:
 * lists tokens and certificates through the accessors, signs a SHA-256 digest with the
 * first certificate that can sign ECDSA, writes the DER signature to argv[2]; then shows
 * how errors come back, and what the constructors and accessors do with bad arguments.
 */
#include <stdio.h>
#include <string.h>

#include <kyso.h>

int
main(int argc, char **argv)
{
	kyso_token **tokens;
	kyso_cert **certs;
	kyso_sign_request *req = NULL;
	const char *const *algs;
	unsigned char *sig, digest[32];
	size_t nt, nc, siglen, derlen = 0;
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
	printf("tokens %zu, first label %s, terminated %d, flags login_required %d\n", nt,
	    nt ? kyso_token_label(tokens[0]) : "-", tokens[nt] == NULL,
	    nt ? (kyso_token_flags(tokens[0]) & KYSO_TOKEN_LOGIN_REQUIRED) != 0 : -1);
	printf("token json has the serial: %d\n", nt && strstr(kyso_token_json(tokens[0]),
	    kyso_token_serial(tokens[0])) != NULL);
	for (size_t i = 0; i < nc; i++) {
		if (!(kyso_cert_flags(certs[i]) & KYSO_CERT_CAN_SIGN) ||
		    strcmp(kyso_cert_key_type(certs[i]), "ec") != 0)
			continue;
		printf("certificate %s subject %s\n", kyso_cert_id(certs[i]),
		    kyso_cert_subject(certs[i]));
		printf("curve %s bits %d der %d\n", kyso_cert_curve(certs[i]),
		    kyso_cert_key_bits(certs[i]), kyso_cert_der(certs[i], &derlen) != NULL &&
		    derlen > 100);
		printf("algorithms:");
		for (algs = kyso_cert_algorithms(certs[i]); algs != NULL && *algs != NULL; algs++)
			printf(" %s", *algs);
		printf("\n");
		e = kyso_sign_request_new(kyso_cert_id(certs[i]), "ecdsa-sha256", &req);
		break;
	}
	if (req == NULL) {
		printf("no EC certificate that can sign\n");
		return 1;
	}
	if (kyso_sign_request_set_digest(req, digest, sizeof(digest)) != KYSO_OK ||
	    kyso_sign_request_set_description(req, "libkyso test") != KYSO_OK)
		return 1;
	e = kyso_sign(c, req, &sig, &siglen);
	printf("without pin: %s (%s, %s)\n", kyso_strerror(e), kyso_error_name(c),
	    kyso_error_message(c));
	if (kyso_sign_request_set_pin(req, argv[3]) != KYSO_OK)
		return 1;
	if ((e = kyso_sign(c, req, &sig, &siglen)) != KYSO_OK) {
		printf("sign: %s\n", kyso_error_message(c));
		return 1;
	}
	FILE *f = fopen(argv[2], "wb");
	fwrite(sig, 1, siglen, f);
	fclose(f);
	kyso_free(sig);
	kyso_sign_request_set_digest(req, digest, 31);
	e = kyso_sign(c, req, &sig, &siglen);
	printf("short digest: %d %s %s\n", e == KYSO_ERR_INVALID_DIGEST, kyso_error_name(c),
	    kyso_error_parameters(c));
	kyso_sign_request_free(req);

	/* the contracts of kyso.h on bad arguments */
	req = NULL;
	printf("request without an algorithm: %d %d\n",
	    kyso_sign_request_new("0123abcd", NULL, &req) == KYSO_ERR_INVALID_ARG, req == NULL);
	printf("setters on NULL: %d\n",
	    kyso_sign_request_set_pin(NULL, "1") == KYSO_ERR_INVALID_ARG &&
	    kyso_sign_request_set_digest(NULL, digest, 32) == KYSO_ERR_INVALID_ARG);
	printf("kyso_sign(NULL request): %d\n", kyso_sign(c, NULL, &sig, &siglen) ==
	    KYSO_ERR_INVALID_ARG);
	printf("accessors on NULL: [%s] %u %d %p\n", kyso_token_label(NULL),
	    kyso_cert_flags(NULL), kyso_cert_key_bits(NULL), (void *)kyso_cert_algorithms(NULL));
	kyso_certs_free(certs);
	kyso_tokens_free(tokens);
	kyso_tokens_free(NULL);
	kyso_disconnect(c);
	return 0;
}
