/*
 * kp11_probe.c [-o FILE] MODULE COMMAND... — drives a PKCS#11 module (kyso-pkcs11.so)
 * step by step in one process, for tests/integration/pkcs11_*.sh: threads, fork, cycles,
 * slot events, error codes. Each command prints one line "NAME RESULT [VALUES]" (RESULT
 * a CKR name) to FILE (default stdout), so that a test can check that the module itself
 * wrote nothing on the process's stdout and stderr. SIGPIPE keeps its default action:
 * a module that let it be raised would kill the probe.
 *
 *   init | initnull | final   C_Initialize (CKF_OS_LOCKING_OK) | C_Initialize(NULL) |
 *                             C_Finalize
 *   initargs BAD              C_Initialize with bad arguments: "reserved" (pReserved
 *                             set), "mutexes" (own mutex functions only)
 *   info | iface              C_GetInfo: "info CKR_OK 2.40 MANUFACTURER";
 *                             C_GetInterface("PKCS 11"): "iface CKR_OK 3.0"; later calls
 *                             go through that 3.0 list
 *   slots | allslots          C_GetSlotList(TRUE | FALSE): "slots CKR_OK 1 3"
 *   slotinfo N | token N      "slotinfo CKR_OK present|empty MANUFACTURER";
 *                             "token CKR_OK LABEL FLAGS(hex)"
 *   mechs N | mechinfo N M    "mechs CKR_OK 0x1 0x40 ..."; "mechinfo CKR_OK MIN MAX FLAGS"
 *   open N [rw]               C_OpenSession: it becomes the current session (1, 2, ...)
 *   use K                     (silent) session K becomes the current one
 *   close | closeall N        C_CloseSession(current) | C_CloseAllSessions(N)
 *   sessinfo                  "sessinfo CKR_OK slot=N state=S"
 *   login [PIN] | loginso PIN | ctxlogin [PIN] | logout
 *   find CLASS [ID]           CLASS cert|pub|priv, ID hex: "find CKR_OK COUNT"; the first
 *                             found becomes the current object
 *   attr NAME [LEN]           C_GetAttributeValue of the current object: NAME one of
 *                             value id label class sign sensitive extractable keytype
 *                             modulus exponent ecparams ecpoint private_exponent ecvalue
 *                             unknown alwaysauth serial subject issuer trusted spki
 *                             allowed decrypt category private token modifiable
 *                             never_extractable; LEN the buffer (default: ask first):
 *                             "attr RV LEN HEX" (LEN -1: CK_UNAVAILABLE_INFORMATION)
 *   signinit MECH [PSS]       MECH: rsa-pkcs sha256-rsa-pkcs ... ecdsa ecdsa-sha256 eddsa
 *                             rsa-pkcs-pss sha256-rsa-pkcs-pss (PSS: HASH,MGFHASH,SALT
 *                             e.g. sha256,sha256,32); with the current object as key
 *   sign IN OUT [BUFLEN]      C_Sign of file IN into file OUT: "sign CKR_OK LEN"; BUFLEN
 *                             gives a buffer of that size instead of asking the length
 *   signlen                   C_Sign with no output buffer: "signlen CKR_OK LEN"
 *   update IN CHUNK | final OUT   C_SignUpdate by CHUNK bytes | C_SignFinal into OUT
 *   wait | poll               C_WaitForSlotEvent(0 | CKF_DONT_BLOCK): "wait CKR_OK 2"
 *   untilslots LIST MS        C_GetSlotList(TRUE) every 20 ms until it is LIST (slot ids
 *                             separated by commas, "-" for none), at most MS ms:
 *                             "untilslots CKR_OK 1 2", or "untilslots timeout 1"
 *   threads N K IN            N threads, each with a session of its own on the current
 *                             session's slot, sign IN K times with the current object
 *                             (the mechanism of the last signinit): "threads CKR_OK N*K"
 *   fork COMMANDS             forks; the child runs COMMANDS (a ';'-separated list of
 *                             these commands) and exits; "fork STATUS"
 *   bg COMMANDS               (silent) runs the commands (up to the next bg, join,
 *                             sleep or sh; at most 7 words) in a new thread, with the
 *                             current session and object; "join" waits for the oldest
 *                             and prints "joined FIRST-COMMAND ms=ELAPSED"
 *   sleep MS                  (silent)
 *   sh SCRIPT                 (silent unless it fails: "sh failed STATUS") bash -c SCRIPT
 *   cycles N                  N times C_Initialize, C_GetSlotList, C_Finalize:
 *                             "cycles CKR_OK N"
 *   selfsock PATH             this process listens on the Unix socket PATH (never
 *                             accepting): what kysod is to a module loaded into it
 *   nostdio | stdio           (silent) closes descriptors 0, 1 and 2, as a daemon does
 *                             (needs -o FILE) | says which of them are open:
 *                             "stdio closed closed closed" (the module took none)
 *   untilflags N MASK MS      C_GetTokenInfo(N) every 20 ms until its flags have a bit of
 *                             MASK (hex), at most MS ms: "untilflags CKR_OK 0xFLAGS" or
 *                             "untilflags timeout 0xFLAGS"
 * Exit status 0, or 2 for a usage error.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "kp11_probe.h"

CK_FUNCTION_LIST *fl;
static void *module;
FILE *out;
CK_SESSION_HANDLE sessions[256];
static int nsessions;
/* each thread has its current session and object ("bg" starts with its creator's) */
__thread int cur = -1;
__thread CK_OBJECT_HANDLE obj;
CK_MECHANISM last_mech;
static CK_RSA_PKCS_PSS_PARAMS last_pss;

static void run(int argc, char **argv, int *i);

/* background commands */
struct bg {
	pthread_t t;
	int argc;
	char *argv[8];
	int cur;
	CK_OBJECT_HANDLE obj;
	long start, ms;
};
static struct bg bgs[16];
static int nbg, joined;

static void *
bg_main(void *arg)
{
	struct bg *b = arg;
	int i = 0;

	cur = b->cur;
	obj = b->obj;
	b->start = now_ms();
	while (i < b->argc)
		run(b->argc, b->argv, &i);
	b->ms = now_ms() - b->start;
	return NULL;
}

/* mutex functions a program could offer (never called: the module uses its own) */
static CK_RV
mutex_create(CK_VOID_PTR_PTR m)
{
	*m = NULL;
	return CKR_OK;
}

static CK_RV
mutex_other(CK_VOID_PTR m)
{
	(void)m;
	return CKR_OK;
}

static CK_RV
do_init(int with_args)
{
	CK_C_INITIALIZE_ARGS a;

	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	return fl->C_Initialize(with_args ? &a : NULL);
}

static void
cmd_attr(const char *name, const char *len)
{
	CK_ATTRIBUTE a = { 0, NULL, 0 };
	unsigned char buf[8192];
	static __thread char hex[2 * 4096 + 1];
	CK_RV rv;
	size_t i;

	if (attr_parse(name, &a.type) != 0) {
		say("attr unknown-name");
		return;
	}
	if (len == NULL) {
		rv = fl->C_GetAttributeValue(session(), obj, &a, 1);
		if (rv != CKR_OK || a.ulValueLen > sizeof(buf)) {
			say("attr %s %ld", ckr_name(rv), a.ulValueLen == CK_UNAVAILABLE_INFORMATION ? -1L :
			    (long)a.ulValueLen);
			return;
		}
	} else {
		a.ulValueLen = strtoul(len, NULL, 10);
	}
	a.pValue = buf;
	hex[0] = '\0';
	rv = fl->C_GetAttributeValue(session(), obj, &a, 1);
	for (i = 0; rv == CKR_OK && i < a.ulValueLen && i < 4096; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	say("attr %s %ld %s", ckr_name(rv), a.ulValueLen == CK_UNAVAILABLE_INFORMATION ? -1L :
	    (long)a.ulValueLen, hex);
}

static void
cmd_find(const char *cls, const char *idhex)
{
	CK_OBJECT_CLASS c = strcmp(cls, "cert") == 0 ? CKO_CERTIFICATE :
	    strcmp(cls, "pub") == 0 ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
	unsigned char id[128];
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &c, sizeof(c) }, { CKA_ID, id, 0 } };
	CK_OBJECT_HANDLE found[64];
	CK_ULONG n = 0, total = 0;
	CK_RV rv;

	for (size_t i = 0; idhex != NULL && idhex[2 * i] != '\0' && i < sizeof(id); i++) {
		unsigned v;

		sscanf(idhex + 2 * i, "%2x", &v);
		id[i] = (unsigned char)v;
		t[1].ulValueLen = i + 1;
	}
	rv = fl->C_FindObjectsInit(session(), t, idhex != NULL ? 2 : 1);
	if (rv == CKR_OK) {
		/* one at a time, as many programs do */
		while ((rv = fl->C_FindObjects(session(), found + total, 1, &n)) == CKR_OK &&
		    n > 0 && total < 63)
			total += n;
		fl->C_FindObjectsFinal(session());
	}
	if (total > 0)
		obj = found[0];
	say("find %s %lu", ckr_name(rv), (unsigned long)total);
}

static void
cmd_signinit(const char *m, const char *pss)
{
	CK_MECHANISM_TYPE t;
	CK_RV rv;

	if (mech_parse(m, &t) != 0) {
		say("signinit unknown-mechanism");
		return;
	}
	memset(&last_mech, 0, sizeof(last_mech));
	last_mech.mechanism = t;
	if (pss != NULL) {
		char h[16] = "", mg[16] = "";
		unsigned long salt = 0;
		CK_RSA_PKCS_MGF_TYPE mgf, mgf2;

		sscanf(pss, "%15[^,],%15[^,],%lu", h, mg, &salt);
		last_pss.hashAlg = hash_mech(h, &mgf);
		(void)hash_mech(mg, &mgf2);
		last_pss.mgf = mgf2;
		last_pss.sLen = salt;
		last_mech.pParameter = &last_pss;
		last_mech.ulParameterLen = sizeof(last_pss);
	}
	rv = fl->C_SignInit(session(), &last_mech, obj);
	say("signinit %s", ckr_name(rv));
}

static void
cmd_sign(const char *in, const char *outpath, const char *buflen)
{
	size_t len;
	unsigned char *data = read_file(in, &len), *sig = NULL;
	CK_ULONG siglen = 0;
	CK_RV rv;

	if (data == NULL) {
		say("sign no-input");
		return;
	}
	if (buflen != NULL) {
		siglen = strtoul(buflen, NULL, 10);
		sig = malloc(siglen + 1);
		rv = fl->C_Sign(session(), data, len, sig, &siglen);
	} else if ((rv = fl->C_Sign(session(), data, len, NULL, &siglen)) == CKR_OK) {
		sig = malloc(siglen + 1);
		rv = fl->C_Sign(session(), data, len, sig, &siglen);
	}
	if (rv == CKR_OK)
		write_file(outpath, sig, siglen);
	say("sign %s %lu", ckr_name(rv), (unsigned long)siglen);
	free(sig);
	free(data);
}

static void
cmd_update(const char *in, const char *chunk)
{
	size_t len, step = strtoul(chunk, NULL, 10), off = 0;
	unsigned char *data = read_file(in, &len);
	CK_RV rv = CKR_OK;

	if (data == NULL || step == 0) {
		say("update bad-arguments");
		free(data);
		return;
	}
	while (rv == CKR_OK && off < len) {
		size_t n = len - off < step ? len - off : step;

		rv = fl->C_SignUpdate(session(), data + off, n);
		off += n;
	}
	say("update %s", ckr_name(rv));
	free(data);
}

static void
cmd_final(const char *outpath)
{
	unsigned char sig[1024];
	CK_ULONG siglen = 0;
	CK_RV rv = fl->C_SignFinal(session(), NULL, &siglen);

	if (rv == CKR_OK) {
		siglen = sizeof(sig);
		rv = fl->C_SignFinal(session(), sig, &siglen);
	}
	if (rv == CKR_OK)
		write_file(outpath, sig, siglen);
	say("final %s %lu", ckr_name(rv), (unsigned long)siglen);
}

static void
cmd_fork(const char *cmds)
{
	char *copy = strdup(cmds), *words[64], *save = NULL;
	int n = 0, status = 0;
	pid_t pid;

	for (char *w = strtok_r(copy, " ;", &save); w != NULL && n < 63;
	    w = strtok_r(NULL, " ;", &save))
		words[n++] = w;
	words[n] = NULL;
	fflush(out);
	if ((pid = fork()) == 0) {
		for (int i = 0; i < n;)
			run(n, words, &i);
		fflush(out);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	say("fork %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	free(copy);
}

/* Runs the command at argv[*i], advancing *i past it and its arguments. */
static void
run(int argc, char **argv, int *i)
{
	const char *c = argv[(*i)++];
	const char *a1 = *i < argc ? argv[*i] : NULL;
	const char *a2 = *i + 1 < argc ? argv[*i + 1] : NULL;
	const char *a3 = *i + 2 < argc ? argv[*i + 2] : NULL;
	CK_RV rv;

#define ARG(n) do { if (*i + (n) > argc) { say("%s missing-argument", c); return; } \
	*i += (n); } while (0)
	if (strcmp(c, "init") == 0) {
		say("init %s", ckr_name(do_init(1)));
	} else if (strcmp(c, "initnull") == 0) {
		say("initnull %s", ckr_name(do_init(0)));
	} else if (strcmp(c, "initargs") == 0) {
		CK_C_INITIALIZE_ARGS a;
		int dummy;

		ARG(1);
		memset(&a, 0, sizeof(a));
		if (strcmp(a1, "reserved") == 0)
			a.pReserved = &dummy;
		else {  /* the program's own mutex functions, without CKF_OS_LOCKING_OK */
			a.CreateMutex = mutex_create;
			a.DestroyMutex = mutex_other;
			a.LockMutex = mutex_other;
			a.UnlockMutex = mutex_other;
		}
		say("initargs %s", ckr_name(fl->C_Initialize(&a)));
	} else if (strcmp(c, "final") == 0) {
		say("final %s", ckr_name(fl->C_Finalize(NULL)));
	} else if (strcmp(c, "info") == 0) {
		CK_INFO in;

		rv = fl->C_GetInfo(&in);
		say("info %s %u.%u %.32s", ckr_name(rv), in.cryptokiVersion.major,
		    in.cryptokiVersion.minor, rv == CKR_OK ? (char *)in.manufacturerID : "");
	} else if (strcmp(c, "iface") == 0) {
		struct { CK_CHAR *name; void *list; CK_FLAGS flags; } *iface = NULL;
		CK_RV (*gi)(CK_UTF8CHAR *, CK_VERSION *, void *, CK_FLAGS) =
		    (CK_RV (*)(CK_UTF8CHAR *, CK_VERSION *, void *, CK_FLAGS))dlsym(module,
		    "C_GetInterface");

		rv = gi == NULL ? CKR_FUNCTION_NOT_SUPPORTED :
		    gi((CK_UTF8CHAR *)"PKCS 11", NULL, &iface, 0);
		if (rv == CKR_OK)
			fl = iface->list;
		say("iface %s %u.%u", ckr_name(rv), rv == CKR_OK ? fl->version.major : 0,
		    rv == CKR_OK ? fl->version.minor : 0);
	} else if (strcmp(c, "slots") == 0 || strcmp(c, "allslots") == 0) {
		CK_SLOT_ID s[64];
		CK_ULONG n = 64;
		char line[512] = "";

		rv = fl->C_GetSlotList(strcmp(c, "slots") == 0, s, &n);
		for (CK_ULONG k = 0; rv == CKR_OK && k < n; k++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %lu",
			    (unsigned long)s[k]);
		say("%s %s%s", c, ckr_name(rv), line);
	} else if (strcmp(c, "slotinfo") == 0) {
		CK_SLOT_INFO si;

		ARG(1);
		rv = fl->C_GetSlotInfo(strtoul(a1, NULL, 10), &si);
		say("slotinfo %s %s %.11s", ckr_name(rv), rv == CKR_OK && (si.flags &
		    CKF_TOKEN_PRESENT) ? "present" : "empty",
		    rv == CKR_OK ? (char *)si.manufacturerID : "");
	} else if (strcmp(c, "token") == 0) {
		CK_TOKEN_INFO ti;
		char label[33] = "";

		ARG(1);
		rv = fl->C_GetTokenInfo(strtoul(a1, NULL, 10), &ti);
		if (rv == CKR_OK) {
			memcpy(label, ti.label, 32);
			for (int k = 31; k >= 0 && label[k] == ' '; k--)
				label[k] = '\0';
		}
		say("token %s %s 0x%lx", ckr_name(rv), label, rv == CKR_OK ? (unsigned long)ti.flags :
		    0UL);
	} else if (strcmp(c, "mechs") == 0) {
		CK_MECHANISM_TYPE m[64];
		CK_ULONG n = 64;
		char line[1024] = "";

		ARG(1);
		rv = fl->C_GetMechanismList(strtoul(a1, NULL, 10), m, &n);
		for (CK_ULONG k = 0; rv == CKR_OK && k < n; k++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " 0x%lx",
			    (unsigned long)m[k]);
		say("mechs %s%s", ckr_name(rv), line);
	} else if (strcmp(c, "mechinfo") == 0) {
		CK_MECHANISM_INFO mi;
		CK_MECHANISM_TYPE t = 0;

		ARG(2);
		(void)mech_parse(a2, &t);
		rv = fl->C_GetMechanismInfo(strtoul(a1, NULL, 10), t, &mi);
		say("mechinfo %s %lu %lu 0x%lx", ckr_name(rv), rv == CKR_OK ? mi.ulMinKeySize : 0,
		    rv == CKR_OK ? mi.ulMaxKeySize : 0, rv == CKR_OK ? mi.flags : 0);
	} else if (strcmp(c, "open") == 0) {
		CK_SESSION_HANDLE h = 0;
		int rw = a2 != NULL && strcmp(a2, "rw") == 0;

		ARG(rw ? 2 : 1);
		rv = fl->C_OpenSession(strtoul(a1, NULL, 10), CKF_SERIAL_SESSION |
		    (rw ? CKF_RW_SESSION : 0), NULL, NULL, &h);
		if (rv == CKR_OK && nsessions < 256) {
			sessions[nsessions] = h;
			cur = nsessions++;
		}
		say("open %s", ckr_name(rv));
	} else if (strcmp(c, "use") == 0) {
		ARG(1);
		cur = atoi(a1) - 1;
	} else if (strcmp(c, "close") == 0) {
		say("close %s", ckr_name(fl->C_CloseSession(session())));
	} else if (strcmp(c, "closeall") == 0) {
		ARG(1);
		say("closeall %s", ckr_name(fl->C_CloseAllSessions(strtoul(a1, NULL, 10))));
	} else if (strcmp(c, "sessinfo") == 0) {
		CK_SESSION_INFO si;

		rv = fl->C_GetSessionInfo(session(), &si);
		say("sessinfo %s slot=%lu state=%lu", ckr_name(rv), rv == CKR_OK ? si.slotID : 0,
		    rv == CKR_OK ? si.state : 0);
	} else if (strcmp(c, "login") == 0 || strcmp(c, "ctxlogin") == 0 ||
	    strcmp(c, "loginso") == 0) {
		CK_USER_TYPE u = c[0] == 'c' ? CKU_CONTEXT_SPECIFIC : strcmp(c, "loginso") == 0 ?
		    CKU_SO : CKU_USER;

		/* a PIN is the next word unless it is a command */
		if (a1 != NULL && a1[0] >= '0' && a1[0] <= '9') {
			ARG(1);
			rv = fl->C_Login(session(), u, (CK_UTF8CHAR *)a1, strlen(a1));
		} else {
			rv = fl->C_Login(session(), u, NULL, 0);
		}
		say("%s %s", c, ckr_name(rv));
	} else if (strcmp(c, "logout") == 0) {
		say("logout %s", ckr_name(fl->C_Logout(session())));
	} else if (strcmp(c, "find") == 0) {
		int with_id = a2 != NULL && strlen(a2) % 2 == 0 && strspn(a2,
		    "0123456789abcdefABCDEF") == strlen(a2) && a2[0] != '\0';

		ARG(with_id ? 2 : 1);
		cmd_find(a1, with_id ? a2 : NULL);
	} else if (strcmp(c, "attr") == 0) {
		int with_len = a2 != NULL && a2[0] >= '0' && a2[0] <= '9';

		ARG(with_len ? 2 : 1);
		cmd_attr(a1, with_len ? a2 : NULL);
	} else if (strcmp(c, "signinit") == 0) {
		int with_pss = a2 != NULL && strchr(a2, ',') != NULL;

		ARG(with_pss ? 2 : 1);
		cmd_signinit(a1, with_pss ? a2 : NULL);
	} else if (strcmp(c, "sign") == 0) {
		int with_len = a3 != NULL && a3[0] >= '0' && a3[0] <= '9';

		ARG(with_len ? 3 : 2);
		cmd_sign(a1, a2, with_len ? a3 : NULL);
	} else if (strcmp(c, "signlen") == 0) {
		CK_ULONG n = 0;

		rv = fl->C_Sign(session(), (CK_BYTE *)"x", 1, NULL, &n);
		say("signlen %s %lu", ckr_name(rv), (unsigned long)n);
	} else if (strcmp(c, "update") == 0) {
		ARG(2);
		cmd_update(a1, a2);
	} else if (strcmp(c, "signfinal") == 0) {
		ARG(1);
		cmd_final(a1);
	} else if (strcmp(c, "wait") == 0 || strcmp(c, "poll") == 0) {
		CK_SLOT_ID s = 0;

		rv = fl->C_WaitForSlotEvent(c[0] == 'p' ? CKF_DONT_BLOCK : 0, &s, NULL);
		say("%s %s %lu", c, ckr_name(rv), rv == CKR_OK ? (unsigned long)s : 0UL);
	} else if (strcmp(c, "untilslots") == 0) {
		char want[256], line[512];
		long end;

		ARG(2);
		snprintf(want, sizeof(want), "%s", strcmp(a1, "-") == 0 ? "" : a1);
		for (char *p = want; *p != '\0'; p++)
			if (*p == ',')
				*p = ' ';
		end = now_ms() + atol(a2);
		for (;;) {
			CK_SLOT_ID s[64];
			CK_ULONG n = 64;

			line[0] = '\0';
			rv = fl->C_GetSlotList(CK_TRUE, s, &n);
			for (CK_ULONG k = 0; rv == CKR_OK && k < n; k++)
				snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%lu",
				    k > 0 ? " " : "", (unsigned long)s[k]);
			if (rv == CKR_OK && strcmp(line, want) == 0) {
				say("untilslots CKR_OK%s%s", line[0] ? " " : "", line);
				break;
			}
			if (now_ms() > end) {
				say("untilslots timeout %s %s", ckr_name(rv), line);
				break;
			}
			usleep(20000);
		}
	} else if (strcmp(c, "threads") == 0) {
		ARG(3);
		cmd_threads(atoi(a1), atoi(a2), a3);
	} else if (strcmp(c, "fork") == 0) {
		ARG(1);
		cmd_fork(a1);
	} else if (strcmp(c, "bg") == 0) {
		struct bg *b = &bgs[nbg];
		int n = 0;

		if (nbg >= 16 || a1 == NULL) {
			say("bg failed");
			return;
		}
		/* the command and as many arguments as it takes: up to the next "bg",
		 * "join" or "sleep", at most 7 words */
		while (*i < argc && n < 7 && (n == 0 || (strcmp(argv[*i], "bg") != 0 &&
		    strcmp(argv[*i], "join") != 0 && strcmp(argv[*i], "sleep") != 0 &&
		    strcmp(argv[*i], "sh") != 0)))
			b->argv[n++] = argv[(*i)++];
		b->argc = n;
		b->cur = cur;
		b->obj = obj;
		nbg++;
		pthread_create(&b->t, NULL, bg_main, b);
	} else if (strcmp(c, "join") == 0) {
		if (joined >= nbg) {
			say("join nothing");
			return;
		}
		pthread_join(bgs[joined].t, NULL);
		say("joined %s ms=%ld", bgs[joined].argv[0], bgs[joined].ms);
		joined++;
	} else if (strcmp(c, "sleep") == 0) {
		ARG(1);
		usleep((useconds_t)atoi(a1) * 1000);
	} else if (strcmp(c, "sh") == 0) {
		pid_t pid;
		int st = -1;

		ARG(1);
		fflush(out);
		/* bash itself, not system()'s /bin/sh: the tests' exported bash functions
		 * (tests/lib/mock.sh) reach it through the environment */
		if ((pid = fork()) == 0) {
			execl("/bin/bash", "bash", "-c", a1, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, &st, 0);
		if (st != 0)
			say("sh failed %d", st);
	} else if (strcmp(c, "nostdio") == 0) {
		close(0);
		close(1);
		close(2);
	} else if (strcmp(c, "stdio") == 0) {
		say("stdio %s %s %s", fcntl(0, F_GETFD) < 0 ? "closed" : "open",
		    fcntl(1, F_GETFD) < 0 ? "closed" : "open",
		    fcntl(2, F_GETFD) < 0 ? "closed" : "open");
	} else if (strcmp(c, "selfsock") == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd;

		ARG(1);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a1);
		unlink(a1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0)
			say("selfsock failed %s", strerror(errno));
	} else if (strcmp(c, "untilflags") == 0) {
		unsigned long mask;
		long end;
		CK_TOKEN_INFO ti;

		ARG(3);
		mask = strtoul(a2, NULL, 16);
		end = now_ms() + atol(a3);
		for (;;) {
			memset(&ti, 0, sizeof(ti));
			rv = fl->C_GetTokenInfo(strtoul(a1, NULL, 10), &ti);
			if (rv == CKR_OK && (ti.flags & mask)) {
				say("untilflags CKR_OK 0x%lx", (unsigned long)ti.flags);
				break;
			}
			if (now_ms() > end) {
				say("untilflags timeout 0x%lx", (unsigned long)ti.flags);
				break;
			}
			usleep(20000);
		}
	} else if (strcmp(c, "cycles") == 0) {
		int n, done = 0;

		ARG(1);
		n = atoi(a1);
		rv = CKR_OK;
		for (int k = 0; k < n && rv == CKR_OK; k++) {
			CK_ULONG count = 0;

			if ((rv = do_init(1)) == CKR_OK &&
			    (rv = fl->C_GetSlotList(CK_TRUE, NULL, &count)) == CKR_OK)
				rv = fl->C_Finalize(NULL);
			if (rv == CKR_OK)
				done++;
		}
		say("cycles %s %d", ckr_name(rv), done);
	} else {
		say("unknown-command %s", c);
	}
#undef ARG
}

int
main(int argc, char **argv)
{
	CK_RV (*gfl)(CK_FUNCTION_LIST **);
	int i = 1;

	out = stdout;
	if (argc > 2 && strcmp(argv[1], "-o") == 0) {
		if ((out = fopen(argv[2], "w")) == NULL)
			return 2;
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: kp11_probe [-o FILE] MODULE COMMAND...\n");
		return 2;
	}
	if ((module = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (gfl = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(module, "C_GetFunctionList")) ==
	    NULL || gfl(&fl) != CKR_OK) {
		fprintf(out, "load failed %s\n", dlerror());
		return 2;
	}
	for (i++; i < argc;)
		run(argc, argv, &i);
	for (; joined < nbg; joined++)
		pthread_join(bgs[joined].t, NULL);
	dlclose(module);
	if (out != stdout)
		fclose(out);
	return 0;
}
