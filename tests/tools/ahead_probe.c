/*
 * ahead_probe.c — for tests/integration/sign_ahead.sh: the worker's signing of Signs with
 * their "granted" records written ahead (agent/token_ops.c, token_ahead.c), driven
 * without the loop: N Sign jobs built as methods_sign.c builds them, run on one session
 * by token_ops_run (N = 1) or token_ops_run_group (N >= 2, Signs queued together), with
 * the audit log of a real file. Linked twice: with the module in this process
 * (libkyso-p11.a: ahead_probe, as the tests' and benchmark's kysod-inproc run it) and in a
 * kyso-p11-helper (libkyso-rpc.a: ahead_probe_rpc, as kysod runs it).
 *
 *   ahead_probe MODULE TOKEN PIN CERT_LABEL AUDIT_LOG N OUTDIR [abort-rest]
 *
 * Signs the SHA-256 of OUTDIR/doc.I (written here: "document I") with the P-256 key of
 * the certificate CERT_LABEL as ecdsa-sha256 (DER), writes each signature to OUTDIR/sig.I
 * and prints a line per job "job I RESULT" (the varlink error name, or granted), then
 * "syncs S writes W" (the audit log's fsync rounds and writes). abort-rest: once the
 * module's trace ($KYSO_FAULTY_TRACE, the test module's) shows a new C_Sign, the jobs
 * but the first are ended as Lock ends them (their aborts fired), and "fired" is printed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "audit.h"
#include "job.h"
#include "kyso_err.h"
#include "p11.h"
#include "request.h"
#include "secret.h"
#include "worker.h"

#define PROBE_MAX TOKEN_OPS_GROUP_MAX

static struct job *jobs[PROBE_MAX];
static size_t njobs;
static atomic_int jobs_done;  /* the jobs came back: abort_rest stops looking */

/* Lines of the module's trace that are C_Sign calls. */
static long
trace_signs(const char *path)
{
	char line[256];
	long n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, "C_Sign ", 7) == 0;
	fclose(f);
	return n;
}

/* abort-rest: waits for the token to be signing, then ends the jobs but the first. */
static void *
abort_rest(void *arg)
{
	const char *trace = getenv("KYSO_FAULTY_TRACE");
	long base = *(long *)arg;
	struct timespec poll = { 0, 10 * 1000000L };

	while (trace != NULL && !atomic_load(&jobs_done) && trace_signs(trace) <= base)
		nanosleep(&poll, NULL);
	if (atomic_load(&jobs_done))
		return NULL;  /* no C_Sign came */
	for (size_t i = 1; i < njobs; i++) {
		atomic_store(&jobs[i]->abort_why, JOB_ABORT_LOCKED);
		pinentry_abort_fire(&jobs[i]->abort);
	}
	printf("fired\n");
	fflush(stdout);
	return NULL;
}

/* The session logged in on the token labelled token, its description, the key's id. */
static int
probe_open(const char *module, const char *token, const char *pin, const char *label,
    struct p11_module **m, struct p11_token_desc *desc, struct p11_session **s,
    unsigned char *id, size_t *id_len)
{
	struct p11_token_desc *d = NULL;
	struct p11_cert_desc *c = NULL;
	struct kyso_secret *sec = NULL;
	struct p11_fail f;
	char err[512];
	size_t n = 0;
	int r;

	if ((r = p11_module_load(module, m, err, sizeof(err))) != KYSO_OK) {
		fprintf(stderr, "ahead_probe: %s\n", err);
		return r;
	}
	if ((r = p11_module_tokens(*m, &d, &n, &f)) != KYSO_OK)
		return r;
	r = KYSO_ERR_NO_SUCH_TOKEN;
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, token) == 0) {
			*desc = d[i];
			r = KYSO_OK;
		}
	free(d);
	if (r != KYSO_OK || (r = p11_session_open(*m, desc->slot, s, &f)) != KYSO_OK)
		return r;
	if (!p11_session_logged_in(*s) && (r = secret_new(pin, strlen(pin), &sec)) == KYSO_OK) {
		r = p11_session_login(*s, sec, &f);
		secret_free(sec);
	}
	if (r != KYSO_OK || (r = p11_session_certs(*s, &c, &n, &f)) != KYSO_OK)
		return r;
	r = KYSO_ERR_NO_SUCH_CERT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].label, label) == 0 && c[i].has_private_key && c[i].id_len <= 256) {
			memcpy(id, c[i].id, c[i].id_len);
			*id_len = c[i].id_len;
			r = KYSO_OK;
		}
	p11_certs_free(c, n);
	return r;
}

/* Sign job i over OUTDIR/doc.i, as methods_sign.c builds one for a digest. */
static struct job *
probe_job(size_t i, const char *outdir, const unsigned char *id, size_t id_len,
    struct audit_log *log)
{
	struct job *j = job_new(JOB_SIGN);
	struct job_sign *sg;
	struct request_info *ri = calloc(1, sizeof(*ri));
	char path[4096], doc[64];
	int len = snprintf(doc, sizeof(doc), "document %zu\n", i);
	FILE *f;

	if (j == NULL || ri == NULL)
		return NULL;
	sg = &j->u.sign;
	sg->auth.ri = ri;
	ri->uid = getuid();
	ri->pid = getpid();
	snprintf(ri->exe, sizeof(ri->exe), "ahead_probe");
	ri->method = "io.kyso.Agent.Sign";
	snprintf(ri->cert_id, sizeof(ri->cert_id), "%064x", 0);
	ri->algorithm = "ecdsa-sha256";
	SHA256((const unsigned char *)doc, (size_t)len, ri->digest);
	ri->digest_len = 32;
	ri->digest_alg = "sha256";
	ri->audit = log;
	snprintf(path, sizeof(path), "%s/doc.%zu", outdir, i);
	if ((f = fopen(path, "w")) == NULL || fputs(doc, f) < 0 || fclose(f) != 0)
		return NULL;
	if ((sg->in_buf = malloc(32)) == NULL || (sg->key_id_buf = malloc(id_len)) == NULL)
		return NULL;
	memcpy(sg->in_buf, ri->digest, 32);
	memcpy(sg->key_id_buf, id, id_len);
	sg->req.key_id = sg->key_id_buf;
	sg->req.key_id_len = id_len;
	sg->req.mech = P11_MECH_ECDSA;
	sg->req.in = sg->in_buf;
	sg->req.in_len = 32;
	sg->ecdsa_der = 1;
	sg->login_required = 1;
	sg->was_logged_in = 1;  /* as the loop knows it: the token is logged in */
	return j;
}

int
main(int argc, char **argv)
{
	unsigned char id[256];
	struct p11_module *m = NULL;
	struct p11_session *s = NULL;
	struct p11_token_desc desc;
	struct audit_log *log = NULL;
	pthread_t t;
	size_t id_len = 0;
	long base = 0;
	char err[512], path[4096];
	int aborts = argc > 8 && strcmp(argv[8], "abort-rest") == 0, r;

	if (argc < 8 || (njobs = strtoul(argv[6], NULL, 10)) < 1 || njobs > PROBE_MAX) {
		fprintf(stderr, "usage: ahead_probe MODULE TOKEN PIN CERT_LABEL AUDIT_LOG N(1..%d) "
		    "OUTDIR [abort-rest]\n", PROBE_MAX);
		return 2;
	}
	if ((r = probe_open(argv[1], argv[2], argv[3], argv[4], &m, &desc, &s, id, &id_len)) !=
	    KYSO_OK) {
		fprintf(stderr, "ahead_probe: cannot sign on token '%s': %s\n", argv[2],
		    kyso_strerror(r));
		return 1;
	}
	if (audit_open(argv[5], &log, err, sizeof(err)) != KYSO_OK) {
		fprintf(stderr, "ahead_probe: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < njobs; i++)
		if ((jobs[i] = probe_job(i, argv[7], id, id_len, log)) == NULL) {
			fprintf(stderr, "ahead_probe: cannot make job %zu: %s\n", i, strerror(errno));
			return 1;
		}
	if (aborts) {
		base = getenv("KYSO_FAULTY_TRACE") != NULL ?
		    trace_signs(getenv("KYSO_FAULTY_TRACE")) : 0;
		if (pthread_create(&t, NULL, abort_rest, &base) != 0)
			return 1;
	}
	if (njobs == 1)
		token_ops_run(m, desc.slot, &desc, &s, jobs[0]);
	else
		token_ops_run_group(m, desc.slot, &desc, &s, jobs, njobs);
	atomic_store(&jobs_done, 1);
	if (aborts)
		pthread_join(t, NULL);
	for (size_t i = 0; i < njobs; i++) {
		struct job_sign *sg = &jobs[i]->u.sign;
		FILE *f;

		printf("job %zu %s\n", i, jobs[i]->result == KYSO_OK ? "granted" :
		    kyso_err_varlink(jobs[i]->result));
		snprintf(path, sizeof(path), "%s/sig.%zu", argv[7], i);
		if (sg->sig != NULL && ((f = fopen(path, "w")) == NULL ||
		    fwrite(sg->sig, 1, sg->siglen, f) != sg->siglen || fclose(f) != 0))
			return 1;
		job_free(jobs[i]);
	}
	printf("syncs %lu writes %llu\n", audit_syncs(log), audit_records(log));
	audit_close(log);
	p11_session_close(s);
	p11_module_free(m);
	return 0;
}
