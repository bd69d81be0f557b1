/*
 * ed25519_verify.c PUBKEY_PEM SIGFILE DOCFILE — verifies an Ed25519 signature with
 * OpenSSL's EVP API; unlike `openssl pkeyutl`, it accepts an empty document.
 * Exit 0 when the signature is valid.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(1 << 20);

	*len = f != NULL && buf != NULL ? fread(buf, 1, 1 << 20, f) : 0;
	if (f != NULL)
		fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY *key;
	unsigned char *sig, *doc;
	size_t siglen, doclen;
	FILE *f;
	int ok;

	if (argc != 4 || (f = fopen(argv[1], "r")) == NULL)
		return 2;
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	sig = slurp(argv[2], &siglen);
	doc = slurp(argv[3], &doclen);
	ok = key != NULL && ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, doc, doclen) == 1;
	printf("%s\n", ok ? "Signature Verified Successfully" : "Signature Verification Failure");
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	free(sig);
	free(doc);
	return ok ? 0 : 1;
}
