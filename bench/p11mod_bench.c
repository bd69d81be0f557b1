/*
 * p11mod_bench.c — C_Sign throughput of a PKCS#11 module as a program sees it: the module
 * is dlopen'ed and driven through its function list, one session logged in once, each
 * signature a C_SignInit and one C_Sign into a buffer large enough (what OpenSSL's libp11
 * engine and NSS do). The same loop measures kyso-pkcs11.so (→ kysod → the token) and
 * p11-kit-client.so (→ p11-kit server → the token): bench/module.sh compares them.
 *
 *   p11mod_bench -m MODULE -t TOKEN -k p256|rsa2048 [-L LABEL] [-P PIN] [-d SECONDS]
 *                [-w WARMUP] [-q]
 *
 * The mechanisms are kysod's for a digest: CKM_ECDSA over a 32-byte SHA-256 digest for
 * P-256, CKM_RSA_PKCS over its DigestInfo for RSA-2048. Prints signatures per second.
 * Exit status 0, 1 when the module failed, 2 for a usage error.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
fail(const char *what, CK_RV rv)
{
	fprintf(stderr, "p11mod_bench: %s failed: 0x%lx\n", what, (unsigned long)rv);
	return 1;
}

/* The slot whose token has this label. */
static int
find_slot(CK_FUNCTION_LIST *fl, const char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	size_t len = strlen(label);

	if (fl->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK || len > sizeof(ti.label) ||
		    memcmp(ti.label, label, len) != 0)
			continue;
		for (size_t k = len; k < sizeof(ti.label); k++)
			if (ti.label[k] != ' ')
				goto next;
		*out = slots[i];
		return 0;
next:
		;
	}
	return -1;
}

static int
find_key(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) } };
	CK_ULONG n = 0;

	if (fl->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return -1;
	if (fl->C_FindObjects(s, key, 1, &n) != CKR_OK)
		n = 0;
	fl->C_FindObjectsFinal(s);
	return n == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const unsigned char di_prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
		0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	const char *module = NULL, *token = NULL, *label = NULL, *pin = "123456";
	double seconds = 2, t0 = 0, t1;
	long warmup = 20, count = 0;
	int rsa = 0, quiet = 0, ch;
	unsigned char in[19 + 32], sig[1024];
	CK_ULONG inlen, siglen;
	CK_RV (*gfl)(CK_FUNCTION_LIST **);
	CK_FUNCTION_LIST *fl;
	CK_C_INITIALIZE_ARGS args;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_SLOT_ID slot;
	CK_RV rv;
	void *h;

	while ((ch = getopt(argc, argv, "m:t:k:L:P:d:w:qh")) != -1) {
		switch (ch) {
		case 'm': module = optarg; break;
		case 't': token = optarg; break;
		case 'k':
			if (strcmp(optarg, "rsa2048") == 0)
				rsa = 1;
			else if (strcmp(optarg, "p256") != 0)
				return fprintf(stderr, "p11mod_bench: -k p256 or rsa2048\n"), 2;
			break;
		case 'L': label = optarg; break;
		case 'P': pin = optarg; break;
		case 'd': seconds = strtod(optarg, NULL); break;
		case 'w': warmup = strtol(optarg, NULL, 10); break;
		case 'q': quiet = 1; break;
		default:
			fprintf(stderr, "usage: p11mod_bench -m MODULE -t TOKEN -k p256|rsa2048 "
			    "[-L LABEL] [-P PIN] [-d SECONDS] [-w WARMUP] [-q]\n");
			return 2;
		}
	}
	if (module == NULL || token == NULL || !(seconds > 0))
		return fprintf(stderr, "p11mod_bench: -m and -t are required\n"), 2;
	if (label == NULL)
		label = rsa ? "rsa2048" : "p256";
	for (size_t i = 0; i < 32; i++)
		in[19 + i] = (unsigned char)(i * 7 + 1);  /* a fixed "digest" */
	if (rsa) {
		memcpy(in, di_prefix, sizeof(di_prefix));
		inlen = sizeof(in);
		mech.mechanism = CKM_RSA_PKCS;
	} else {
		memmove(in, in + 19, 32);
		inlen = 32;
	}
	if ((h = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (gfl = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(h, "C_GetFunctionList")) == NULL ||
	    gfl(&fl) != CKR_OK) {
		fprintf(stderr, "p11mod_bench: cannot load %s: %s\n", module, dlerror());
		return 1;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = fl->C_Initialize(&args)) != CKR_OK)
		return fail("C_Initialize", rv);
	if (find_slot(fl, token, &slot) != 0)
		return fprintf(stderr, "p11mod_bench: no token '%s'\n", token), 1;
	if ((rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
		return fail("C_OpenSession", rv);
	rv = fl->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return fail("C_Login", rv);
	if (find_key(fl, s, label, &key) != 0)
		return fprintf(stderr, "p11mod_bench: no private key '%s'\n", label), 1;
	for (long i = -warmup;; i++) {
		if (i == 0)
			t0 = now();
		siglen = sizeof(sig);
		if ((rv = fl->C_SignInit(s, &mech, key)) != CKR_OK)
			return fail("C_SignInit", rv);
		if ((rv = fl->C_Sign(s, in, inlen, sig, &siglen)) != CKR_OK)
			return fail("C_Sign", rv);
		if (i == -warmup && siglen != (rsa ? 256u : 64u))
			return fprintf(stderr, "p11mod_bench: a %lu-byte signature\n",
			    (unsigned long)siglen), 1;
		if (i >= 0) {
			count++;
			if ((count & 7) == 0 && (t1 = now()) - t0 >= seconds)
				break;
		}
	}
	t1 = now();
	if (quiet)
		printf("%.1f\n", (double)count / (t1 - t0));
	else
		printf("%s %s: %ld signatures in %.2f s: %.1f/s (%.1f us each)\n", module,
		    rsa ? "rsa2048" : "p256", count, t1 - t0, (double)count / (t1 - t0),
		    (t1 - t0) / (double)count * 1e6);
	fl->C_CloseSession(s);
	fl->C_Finalize(NULL);
	return 0;
}
