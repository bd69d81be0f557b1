/*
 * kp11_probe_util.c — kp11_probe's small parts (see kp11_probe.h): its output lines,
 * files, the names of mechanisms and attributes, and the "threads" command.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kp11_probe.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

void
say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_mu);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
	pthread_mutex_unlock(&out_mu);
}

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

CK_SESSION_HANDLE
session(void)
{
	return cur >= 0 ? sessions[cur] : CK_INVALID_HANDLE;
}

unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

void
write_file(const char *path, const unsigned char *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f != NULL) {
		fwrite(p, 1, len, f);
		fclose(f);
	}
}

static const struct {
	const char *name;
	CK_MECHANISM_TYPE m;
} mechs[] = {
	{ "rsa-pkcs", CKM_RSA_PKCS }, { "sha1-rsa-pkcs", CKM_SHA1_RSA_PKCS },
	{ "sha256-rsa-pkcs", CKM_SHA256_RSA_PKCS }, { "sha384-rsa-pkcs", CKM_SHA384_RSA_PKCS },
	{ "sha512-rsa-pkcs", CKM_SHA512_RSA_PKCS }, { "rsa-pkcs-pss", CKM_RSA_PKCS_PSS },
	{ "sha256-rsa-pkcs-pss", CKM_SHA256_RSA_PKCS_PSS },
	{ "sha384-rsa-pkcs-pss", CKM_SHA384_RSA_PKCS_PSS },
	{ "sha512-rsa-pkcs-pss", CKM_SHA512_RSA_PKCS_PSS }, { "ecdsa", CKM_ECDSA },
	{ "ecdsa-sha256", CKM_ECDSA_SHA256 }, { "ecdsa-sha384", CKM_ECDSA_SHA384 },
	{ "ecdsa-sha512", CKM_ECDSA_SHA512 }, { "eddsa", CKM_EDDSA },
	{ "rsa-x509", CKM_RSA_X_509 },
};

int
mech_parse(const char *s, CK_MECHANISM_TYPE *m)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strcmp(mechs[i].name, s) == 0) {
			*m = mechs[i].m;
			return 0;
		}
	return -1;
}

CK_MECHANISM_TYPE
hash_mech(const char *s, CK_RSA_PKCS_MGF_TYPE *mgf)
{
	if (strcmp(s, "sha1") == 0) {
		*mgf = CKG_MGF1_SHA1;
		return CKM_SHA_1;
	}
	if (strcmp(s, "sha384") == 0) {
		*mgf = CKG_MGF1_SHA384;
		return CKM_SHA384;
	}
	if (strcmp(s, "sha512") == 0) {
		*mgf = CKG_MGF1_SHA512;
		return CKM_SHA512;
	}
	*mgf = CKG_MGF1_SHA256;
	return CKM_SHA256;
}

static const struct {
	const char *name;
	CK_ATTRIBUTE_TYPE t;
} attrs[] = {
	{ "value", CKA_VALUE }, { "id", CKA_ID }, { "label", CKA_LABEL },
	{ "class", CKA_CLASS }, { "sign", CKA_SIGN }, { "sensitive", CKA_SENSITIVE },
	{ "extractable", CKA_EXTRACTABLE }, { "keytype", CKA_KEY_TYPE },
	{ "modulus", CKA_MODULUS }, { "ecparams", CKA_EC_PARAMS }, { "ecpoint", CKA_EC_POINT },
	{ "private_exponent", CKA_PRIVATE_EXPONENT }, { "ecvalue", CKA_VALUE },
	{ "unknown", 0x7fff0001UL }, { "alwaysauth", CKA_ALWAYS_AUTHENTICATE },
	{ "serial", CKA_SERIAL_NUMBER }, { "subject", CKA_SUBJECT }, { "issuer", CKA_ISSUER },
	{ "trusted", CKA_TRUSTED }, { "spki", CKA_PUBLIC_KEY_INFO },
	{ "allowed", CKA_ALLOWED_MECHANISMS }, { "decrypt", CKA_DECRYPT },
	{ "category", CKA_CERTIFICATE_CATEGORY }, { "private", CKA_PRIVATE },
	{ "token", CKA_TOKEN }, { "modifiable", CKA_MODIFIABLE },
	{ "never_extractable", CKA_NEVER_EXTRACTABLE }, { "exponent", CKA_PUBLIC_EXPONENT },
};

int
attr_parse(const char *s, CK_ATTRIBUTE_TYPE *t)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strcmp(attrs[i].name, s) == 0) {
			*t = attrs[i].t;
			return 0;
		}
	return -1;
}

/* the threads of "threads": each its own session, K signatures */
struct signer {
	pthread_t t;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE key;
	int k;
	unsigned char *in;
	size_t len;
	int ok;
	CK_RV last;
};

static void *
signer_main(void *arg)
{
	struct signer *s = arg;
	CK_SESSION_HANDLE h;
	CK_RV rv;

	if ((rv = fl->C_OpenSession(s->slot, CKF_SERIAL_SESSION, NULL, NULL, &h)) != CKR_OK) {
		s->last = rv;
		return NULL;
	}
	for (int i = 0; i < s->k; i++) {
		unsigned char sig[1024];
		CK_ULONG siglen = sizeof(sig);

		if ((rv = fl->C_SignInit(h, &last_mech, s->key)) == CKR_OK)
			rv = fl->C_Sign(h, s->in, s->len, sig, &siglen);
		s->last = rv;
		if (rv == CKR_OK)
			s->ok++;
	}
	fl->C_CloseSession(h);
	return NULL;
}

void
cmd_threads(int n, int k, const char *path)
{
	struct signer *s = calloc((size_t)n, sizeof(*s));
	CK_SESSION_INFO si;
	size_t len;
	unsigned char *in = read_file(path, &len);
	int ok = 0;
	CK_RV last = CKR_OK;

	if (s == NULL || in == NULL || fl->C_GetSessionInfo(session(), &si) != CKR_OK) {
		say("threads failed");
		free(s);
		free(in);
		return;
	}
	for (int i = 0; i < n; i++) {
		s[i] = (struct signer){ .slot = si.slotID, .key = obj, .k = k, .in = in,
			.len = len };
		pthread_create(&s[i].t, NULL, signer_main, &s[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(s[i].t, NULL);
		ok += s[i].ok;
		if (s[i].last != CKR_OK)
			last = s[i].last;
	}
	say("threads %s %d", ckr_name(last), ok);
	free(s);
	free(in);
}

