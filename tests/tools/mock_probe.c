/*
 * mock_probe.c MODULE COMMAND... — drives a PKCS#11 module (the test module
 * libkyso-faulty.so) step by step in one process, for tests/integration/mock_module.sh.
 * Each command prints one line "NAME RESULT [VALUES]" (RESULT a CKR name) unless noted:
 *
 *   init | final                 C_Initialize (CKF_OS_LOCKING_OK) | C_Finalize
 *   slots | allslots             C_GetSlotList(TRUE | FALSE): "slots CKR_OK 1 3"
 *   slotinfo N                   "slotinfo CKR_OK present|empty removable|fixed
 *                                 desc=DESCRIPTION manufacturer=MANUFACTURER"
 *   token N                      C_GetTokenInfo: "token CKR_OK LABEL"
 *   padflag N                    C_GetTokenInfo: "padflag CKR_OK yes" when the flags have
 *                                CKF_PROTECTED_AUTHENTICATION_PATH, else "... no"
 *   mechs N                      C_GetMechanismList: "mechs CKR_OK COUNT"
 *   open N                       C_OpenSession (serial, read-only); it becomes the
 *                                current session; sessions are numbered 1, 2, ... in order
 *   use K                        (silent) session K becomes the current one
 *   sessinfo                     C_GetSessionInfo: "sessinfo CKR_OK slot=N"
 *   login PIN | logout           C_Login (user) | C_Logout
 *   padlogin                     C_Login(CKU_USER, NULL, 0): a PIN-pad login
 *   ctxlogin PIN | ctxpad        C_Login(CKU_CONTEXT_SPECIFIC) with PIN | with NULL, 0
 *   find ID                      the private keys with CKA_ID ID (hex): "find CKR_OK COUNT";
 *                                the first becomes the current key
 *   signinit | sign              C_SignInit(CKM_ECDSA, key) | C_Sign of 32 bytes
 *   close | closeall N           C_CloseSession(current) | C_CloseAllSessions(N)
 *   wait | poll                  C_WaitForSlotEvent(0 | CKF_DONT_BLOCK): "wait CKR_OK 2"
 *   bg COMMAND [ARG]             (silent) runs the command in a new thread
 *   join                         waits for the oldest unjoined bg command and prints its
 *                                line followed by " ms=ELAPSED"
 *   sleep MS                     (silent)
 *   sh SCRIPT                    (silent unless it fails: "sh failed STATUS") bash -c SCRIPT
 * Exit status 0, or 2 for a usage error.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckr_names.h"

static CK_FUNCTION_LIST *fl;
static CK_SESSION_HANDLE sessions[64];
static int nsessions, cur = -1;
static CK_OBJECT_HANDLE key;

struct bg {
	pthread_t t;
	char cmd[32], arg[256], out[512];
	CK_SESSION_HANDLE h;
	long ms;
};
static struct bg bgs[16];
static int nbg, joined;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int
needs_arg(const char *cmd)
{
	static const char *const with[] = { "slotinfo", "token", "mechs", "open", "use",
		"login", "find", "closeall", "sleep", "sh", "bg", "padflag", "ctxlogin" };

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (strcmp(cmd, with[i]) == 0)
			return 1;
	return 0;
}

static void
trimmed(char *out, size_t size, const CK_UTF8CHAR *field, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	memcpy(out, field, n);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
slot_list(CK_BBOOL present, const char *name, char *out, size_t size)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	CK_RV rv = fl->C_GetSlotList(present, ids, &n);
	size_t len;

	snprintf(out, size, "%s %s", name, ckr_name(rv));
	for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
		len = strlen(out);
		snprintf(out + len, size - len, " %lu", (unsigned long)ids[i]);
	}
}

static void
find(const char *hex, CK_SESSION_HANDLE h, char *out, size_t size)
{
	unsigned char id[64];
	size_t idlen = 0;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, 0 } };
	CK_OBJECT_HANDLE found[8];
	CK_ULONG n = 0;
	CK_RV rv;

	while (idlen < sizeof(id) && sscanf(hex + 2 * idlen, "%2hhx", &id[idlen]) == 1)
		idlen++;
	t[1].ulValueLen = idlen;
	if ((rv = fl->C_FindObjectsInit(h, t, 2)) == CKR_OK) {
		rv = fl->C_FindObjects(h, found, 8, &n);
		(void)fl->C_FindObjectsFinal(h);
	}
	if (rv == CKR_OK && n > 0)
		key = found[0];
	snprintf(out, size, "find %s %lu", ckr_name(rv), rv == CKR_OK ? n : 0UL);
}

/* Runs one command on session h; its line goes to out (empty for silent commands). */
static void
run(const char *cmd, const char *arg, CK_SESSION_HANDLE h, char *out, size_t size)
{
	CK_SLOT_ID slot = arg != NULL ? strtoul(arg, NULL, 10) : 0;
	CK_RV rv = CKR_OK;

	out[0] = '\0';
	if (strcmp(cmd, "init") == 0) {
		CK_C_INITIALIZE_ARGS a = { .flags = CKF_OS_LOCKING_OK };

		rv = fl->C_Initialize(&a);
	} else if (strcmp(cmd, "final") == 0) {
		rv = fl->C_Finalize(NULL);
	} else if (strcmp(cmd, "slots") == 0 || strcmp(cmd, "allslots") == 0) {
		slot_list(cmd[0] == 's', cmd, out, size);
		return;
	} else if (strcmp(cmd, "slotinfo") == 0) {
		CK_SLOT_INFO si;
		char desc[65], manuf[33];

		if ((rv = fl->C_GetSlotInfo(slot, &si)) == CKR_OK) {
			trimmed(desc, sizeof(desc), si.slotDescription, 64);
			trimmed(manuf, sizeof(manuf), si.manufacturerID, 32);
			snprintf(out, size, "slotinfo CKR_OK %s %s desc=%s manufacturer=%s",
			    si.flags & CKF_TOKEN_PRESENT ? "present" : "empty",
			    si.flags & CKF_REMOVABLE_DEVICE ? "removable" : "fixed", desc, manuf);
			return;
		}
	} else if (strcmp(cmd, "token") == 0) {
		CK_TOKEN_INFO ti;
		char label[33];

		if ((rv = fl->C_GetTokenInfo(slot, &ti)) == CKR_OK) {
			trimmed(label, sizeof(label), ti.label, 32);
			snprintf(out, size, "token CKR_OK %s", label);
			return;
		}
	} else if (strcmp(cmd, "padflag") == 0) {
		CK_TOKEN_INFO ti;

		if ((rv = fl->C_GetTokenInfo(slot, &ti)) == CKR_OK) {
			snprintf(out, size, "padflag CKR_OK %s",
			    ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH ? "yes" : "no");
			return;
		}
	} else if (strcmp(cmd, "mechs") == 0) {
		CK_ULONG n = 0;

		if ((rv = fl->C_GetMechanismList(slot, NULL, &n)) == CKR_OK) {
			snprintf(out, size, "mechs CKR_OK %lu", (unsigned long)n);
			return;
		}
	} else if (strcmp(cmd, "open") == 0) {
		CK_SESSION_HANDLE s;

		rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
		if (rv == CKR_OK && nsessions < 64) {
			sessions[nsessions] = s;
			cur = nsessions++;
		}
	} else if (strcmp(cmd, "use") == 0) {
		int k = atoi(arg);

		if (k >= 1 && k <= nsessions)
			cur = k - 1;
		return;
	} else if (strcmp(cmd, "sessinfo") == 0) {
		CK_SESSION_INFO si;

		if ((rv = fl->C_GetSessionInfo(h, &si)) == CKR_OK) {
			snprintf(out, size, "sessinfo CKR_OK slot=%lu", (unsigned long)si.slotID);
			return;
		}
	} else if (strcmp(cmd, "login") == 0) {
		rv = fl->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)arg, strlen(arg));
	} else if (strcmp(cmd, "padlogin") == 0) {
		rv = fl->C_Login(h, CKU_USER, NULL, 0);
	} else if (strcmp(cmd, "ctxlogin") == 0) {
		rv = fl->C_Login(h, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)arg, strlen(arg));
	} else if (strcmp(cmd, "ctxpad") == 0) {
		rv = fl->C_Login(h, CKU_CONTEXT_SPECIFIC, NULL, 0);
	} else if (strcmp(cmd, "logout") == 0) {
		rv = fl->C_Logout(h);
	} else if (strcmp(cmd, "find") == 0) {
		find(arg, h, out, size);
		return;
	} else if (strcmp(cmd, "signinit") == 0) {
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		rv = fl->C_SignInit(h, &m, key);
	} else if (strcmp(cmd, "sign") == 0) {
		unsigned char digest[32] = { 1, 2, 3 }, sig[512];
		CK_ULONG n = sizeof(sig);

		rv = fl->C_Sign(h, digest, sizeof(digest), sig, &n);
	} else if (strcmp(cmd, "close") == 0) {
		rv = fl->C_CloseSession(h);
	} else if (strcmp(cmd, "closeall") == 0) {
		rv = fl->C_CloseAllSessions(slot);
	} else if (strcmp(cmd, "wait") == 0 || strcmp(cmd, "poll") == 0) {
		CK_SLOT_ID s = 0;

		rv = fl->C_WaitForSlotEvent(cmd[0] == 'p' ? CKF_DONT_BLOCK : 0, &s, NULL);
		if (rv == CKR_OK) {
			snprintf(out, size, "%s CKR_OK %lu", cmd, (unsigned long)s);
			return;
		}
	} else if (strcmp(cmd, "sleep") == 0) {
		struct timespec ts = { atol(arg) / 1000, (atol(arg) % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		return;
	} else if (strcmp(cmd, "sh") == 0) {
		pid_t pid;
		int status = -1;

		fflush(stdout);
		if ((pid = fork()) == 0) {
			execl("/bin/bash", "bash", "-c", arg, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			snprintf(out, size, "sh failed %d", status);
		return;
	} else {
		snprintf(out, size, "unknown command %s", cmd);
		return;
	}
	snprintf(out, size, "%s %s", cmd, ckr_name(rv));
}

static void *
bg_main(void *p)
{
	struct bg *b = p;
	long start = now_ms();

	run(b->cmd, b->arg[0] != '\0' ? b->arg : NULL, b->h, b->out, sizeof(b->out));
	b->ms = now_ms() - start;
	return NULL;
}

int
main(int argc, char **argv)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	void *lib;
	char out[512];

	if (argc < 2) {
		fprintf(stderr, "usage: mock_probe MODULE COMMAND...\n");
		return 2;
	}
	if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (get = (CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(lib, "C_GetFunctionList")) ==
	    NULL || get(&fl) != CKR_OK) {
		fprintf(stderr, "mock_probe: cannot load %s\n", argv[1]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 2; i < argc; i++) {
		const char *cmd = argv[i], *arg = NULL;
		CK_SESSION_HANDLE h = cur >= 0 ? sessions[cur] : CK_INVALID_HANDLE;

		if (strcmp(cmd, "join") == 0) {
			if (joined >= nbg) {
				fprintf(stderr, "mock_probe: nothing to join\n");
				return 2;
			}
			pthread_join(bgs[joined].t, NULL);
			printf("%s ms=%ld\n", bgs[joined].out, bgs[joined].ms);
			joined++;
			continue;
		}
		if (strcmp(cmd, "bg") == 0) {
			struct bg *b = &bgs[nbg];

			if (i + 1 >= argc || nbg >= 16) {
				fprintf(stderr, "mock_probe: bg needs a command\n");
				return 2;
			}
			snprintf(b->cmd, sizeof(b->cmd), "%s", argv[++i]);
			b->arg[0] = '\0';
			if (needs_arg(b->cmd) && i + 1 < argc)
				snprintf(b->arg, sizeof(b->arg), "%s", argv[++i]);
			b->h = h;
			if (pthread_create(&b->t, NULL, bg_main, b) != 0) {
				fprintf(stderr, "mock_probe: no thread\n");
				return 2;
			}
			nbg++;
			continue;
		}
		if (needs_arg(cmd)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "mock_probe: %s needs an argument\n", cmd);
				return 2;
			}
			arg = argv[++i];
		}
		run(cmd, arg, h, out, sizeof(out));
		if (out[0] != '\0')
			printf("%s\n", out);
	}
	while (joined < nbg)
		pthread_join(bgs[joined++].t, NULL);
	return 0;
}
