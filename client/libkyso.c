/* libkyso.c — connecting to the agent, calls, and errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "encode.h"
#include "fdnum.h"
#include "libkyso_internal.h"
#include "secret.h"
#include "sockpath.h"
#include "wire.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

const char *
kyso_version(void)
{
	return KYSO_VERSION;
}

int
kyso_set_error(kyso_client *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
	c->error_name[0] = '\0';
	free(c->error_params);
	c->error_params = NULL;
	return err;
}

void
kyso_clear_error(kyso_client *c)
{
	c->message[0] = '\0';
	c->error_name[0] = '\0';
	free(c->error_params);
	c->error_params = NULL;
}

int
kyso_connect(const char *socket_path, kyso_client **out)
{
	struct sockaddr_un sa;
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	kyso_client *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	c->fd = -1;
	kbuf_init(&c->in, KYSO_WIRE_REPLY_MAX);
	*out = c;
	if (socket_path != NULL) {
		if (strlen(socket_path) >= sizeof(c->path))
			return kyso_set_error(c, KYSO_ERR_CONNECT, _("socket path is too long"));
		snprintf(c->path, sizeof(c->path), "%s", socket_path);
	} else if (sockpath_default(c->path, sizeof(c->path)) != KYSO_OK) {
		return kyso_set_error(c, KYSO_ERR_CONNECT, _("the default socket path is too "
		    "long; set KYSO_SOCKET"));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path));
	/* never 0, 1 or 2: a program that closed them would write into the connection */
	if ((c->fd = fd_off_stdio(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0))) < 0)
		return kyso_set_error(c, KYSO_ERR_CONNECT, "socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		if (e == ENOENT || e == ECONNREFUSED)
			return kyso_set_error(c, KYSO_ERR_CONNECT, _("the kyso agent is not running "
			    "(nothing listens on %s); start it with 'kysod'"), c->path);
		return kyso_set_error(c, KYSO_ERR_CONNECT, _("cannot connect to the kyso agent at "
		    "%s: %s"), c->path, strerror(e));
	}
	/* a socket another user made in a shared directory (/tmp) must not get our PINs */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cred.uid != getuid() && cred.uid != 0)) {
		close(c->fd);
		c->fd = -1;
		return kyso_set_error(c, KYSO_ERR_PERMISSION, _("the process listening on %s runs as "
		    "uid %lu, not as you: refusing to talk to it"), c->path,
		    (unsigned long)cred.uid);
	}
	return KYSO_OK;
}

void
kyso_disconnect(kyso_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	kbuf_free(&c->in);
	free(c->error_params);
	json_decref(c->first_event);
	free(c);
}

const char *
kyso_socket_path(const kyso_client *c)
{
	return c->path;
}

const char *
kyso_error_message(const kyso_client *c)
{
	return c->message;
}

const char *
kyso_error_name(const kyso_client *c)
{
	return c->error_name;
}

const char *
kyso_error_parameters(const kyso_client *c)
{
	return c->error_params != NULL ? c->error_params : "{}";
}

int
kyso_remote_error(kyso_client *c, const char *name, json_t *params)
{
	const char *msg = json_string_value(json_object_get(params, "message"));
	const char *param = json_string_value(json_object_get(params, "parameter"));
	int err = kyso_err_from_varlink(name);

	kyso_clear_error(c);
	snprintf(c->error_name, sizeof(c->error_name), "%s", name);
	if (msg != NULL)
		snprintf(c->message, sizeof(c->message), "%s", msg);
	else if (param != NULL)
		snprintf(c->message, sizeof(c->message), _("invalid parameter '%s'"), param);
	else
		snprintf(c->message, sizeof(c->message), "%s (%s)", kyso_strerror(err), name);
	c->error_params = params != NULL ? json_dumps(params, JSON_COMPACT) : NULL;
	return err;
}

/* Whether c can make a call now (else the error is set). */
static int
rpc_ready(kyso_client *c)
{
	kyso_clear_error(c);
	if (c->fd < 0)
		return kyso_set_error(c, KYSO_ERR_DISCONNECTED, _("not connected to the agent"));
	if (c->subscribed)
		return kyso_set_error(c, KYSO_ERR_INVALID_ARG, _("this connection carries token "
		    "events only (kyso_subscribe); make calls on another connection"));
	return KYSO_OK;
}

int
kyso_rpc_more(kyso_client *c, const char *method, json_t *params, int more,
    json_t **reply)
{
	struct kbuf out;
	json_t *call;
	int e;

	*reply = NULL;
	if ((e = rpc_ready(c)) != KYSO_OK)
		return e;
	call = json_pack("{s:s, s:o}", "method", method, "parameters",
	    params != NULL ? json_incref(params) : json_object());
	if (call != NULL && more && json_object_set_new(call, "more", json_true()) != 0) {
		json_decref(call);
		call = NULL;
	}
	if (call == NULL)
		return kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
	kbuf_init(&out, KYSO_WIRE_MAX);
	e = wire_append(&out, call);
	json_decref(call);
	return kyso_rpc_frame(c, &out, e, reply);
}

/* A call that waited c->timeout_ms: the connection is dropped (a late reply would be
 * taken for the next call's). */
static int
rpc_timed_out(kyso_client *c)
{
	close(c->fd);
	c->fd = -1;
	kbuf_reset(&c->in);
	return kyso_set_error(c, KYSO_ERR_TIMEOUT, _("the agent did not answer within %d s"),
	    (c->timeout_ms + 999) / 1000);
}

int
kyso_rpc_frame(kyso_client *c, struct kbuf *out, int e, json_t **reply)
{
	json_t *msg = NULL, *p;
	const char *ename;

	*reply = NULL;
	if (e == KYSO_OK && (e = rpc_ready(c)) != KYSO_OK) {
		kbuf_free(out);
		return e;
	}
	if (e == KYSO_OK)
		e = wire_send_all_ms(c->fd, out->data, out->len, c->timeout_ms > 0 ?
		    c->timeout_ms : -1);
	kbuf_free(out);  /* wiped: the call may carry a PIN */
	if (e == KYSO_ERR_TIMEOUT)
		return rpc_timed_out(c);
	if (e == KYSO_ERR_NOMEM)
		return kyso_set_error(c, e, _("out of memory"));
	if (e == KYSO_ERR_TOO_LARGE)
		return kyso_set_error(c, e, _("the request is larger than the 1 MiB the agent "
		    "accepts"));
	if (e != KYSO_OK && errno != EPIPE && errno != ECONNRESET)
		return kyso_set_error(c, e, _("cannot send to the agent: %s"), strerror(errno));
	/* on EPIPE the agent closed the connection: it may have said why (a refusal) */
	if ((e = wire_recv_ms(c->fd, &c->in, &msg, c->timeout_ms > 0 ? c->timeout_ms : -1)) !=
	    KYSO_OK) {
		if (e == KYSO_ERR_TIMEOUT)
			return rpc_timed_out(c);
		close(c->fd);
		c->fd = -1;
		if (e == KYSO_ERR_DISCONNECTED || e == KYSO_ERR_IO)
			return kyso_set_error(c, KYSO_ERR_DISCONNECTED, _("the agent closed the "
			    "connection"));
		return kyso_set_error(c, e, _("bad reply from the agent: %s"), kyso_strerror(e));
	}
	p = json_object_get(msg, "parameters");
	if ((ename = json_string_value(json_object_get(msg, "error"))) != NULL) {
		e = kyso_remote_error(c, ename, p);
		json_decref(msg);
		return e;
	}
	*reply = p != NULL ? json_incref(p) : json_object();
	json_decref(msg);
	return *reply != NULL ? KYSO_OK : kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
}

int
kyso_rpc(kyso_client *c, const char *method, json_t *params, json_t **reply)
{
	return kyso_rpc_more(c, method, params, 0, reply);
}

int
kyso_call(kyso_client *c, const char *method, const char *params_json, char **reply)
{
	json_t *params = NULL, *r = NULL;
	json_error_t jerr;
	int e;

	*reply = NULL;
	if (params_json != NULL) {
		params = json_loads(params_json, JSON_REJECT_DUPLICATES, &jerr);
		if (params == NULL || !json_is_object(params)) {
			json_decref(params);
			e = kyso_set_error(c, KYSO_ERR_INVALID_ARG, _("parameters are not a JSON "
			    "object: %s"), params == NULL ? wire_json_fault(&jerr) : _("wrong type"));
			explicit_bzero(&jerr, sizeof(jerr));
			return e;
		}
	}
	e = kyso_rpc(c, method, params, &r);
	json_decref(params);
	if (e != KYSO_OK)
		return e;
	*reply = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return *reply != NULL ? KYSO_OK : kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
}

int
kyso_list_tokens(kyso_client *c, kyso_token ***tokens, size_t *n)
{
	size_t count = 0;
	json_t *r;
	int e;

	*tokens = NULL;
	if (n != NULL)
		*n = 0;
	if ((e = kyso_rpc(c, "io.kyso.Agent.ListTokens", NULL, &r)) != KYSO_OK)
		return e;
	e = kyso_parse_tokens(json_object_get(r, "tokens"), tokens, &count);
	json_decref(r);
	if (n != NULL)
		*n = count;
	if (e != KYSO_OK)
		return kyso_set_error(c, e, _("the agent's token list is malformed"));
	return KYSO_OK;
}

int
kyso_list_certificates(kyso_client *c, const char *token, kyso_cert ***certs, size_t *n)
{
	json_t *params = token != NULL ? json_pack("{s:s}", "token", token) : NULL, *r;
	size_t count = 0;
	int e;

	*certs = NULL;
	if (n != NULL)
		*n = 0;
	e = kyso_rpc(c, "io.kyso.Agent.ListCertificates", params, &r);
	json_decref(params);
	if (e != KYSO_OK)
		return e;
	e = kyso_parse_certs(json_object_get(r, "certificates"), certs, &count);
	json_decref(r);
	if (n != NULL)
		*n = count;
	if (e != KYSO_OK)
		return kyso_set_error(c, e, _("the agent's certificate list is malformed"));
	return KYSO_OK;
}

/* Sets key to the base64 of p, if p is given. */
static int
set_b64(json_t *o, const char *key, const unsigned char *p, size_t len)
{
	char *s;
	int e;

	if (p == NULL)
		return 0;
	if ((s = b64_encode(p, len)) == NULL)
		return -1;
	e = json_object_set_new(o, key, json_string(s));
	free(s);
	return e;
}

static int
set_str(json_t *o, const char *key, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

/*
 * Wipes the PIN string inside a request object before the object is freed: jansson owns a
 * private copy (the serialised message is wiped by kbuf_free).
 */
static void
wipe_pin(json_t *o)
{
	json_t *pin = json_object_get(o, "pin");

	if (json_is_string(pin))
		explicit_bzero((char *)(uintptr_t)json_string_value(pin),
		    json_string_length(pin));
}

void
kyso_signatures_free(unsigned char **sigs, size_t *siglens, size_t n)
{
	for (size_t i = 0; sigs != NULL && i < n; i++)
		free(sigs[i]);
	free(sigs);
	free(siglens);
}

/*
 * The SignDigests call as wire text in out (initialised here): written directly rather
 * than through 1000 JSON string objects and their dump, which cost a batch client about
 * as much as the agent's own work per call. Returns KYSO_OK, KYSO_ERR_NOMEM or
 * KYSO_ERR_TOO_LARGE.
 */
static int
digests_call(struct kbuf *out, const kyso_sign_request *req, const unsigned char *digests,
    size_t digest_len, size_t n)
{
	static const char head[] = "{\"method\":\"io.kyso.Agent.SignDigests\",\"parameters\":"
	    "{\"digests\":[";
	int e;

	kbuf_init(out, KYSO_WIRE_MAX);
	e = kbuf_append(out, head, sizeof(head) - 1);
	for (size_t i = 0; i < n && e == KYSO_OK; i++)
		e = json_b64_item(out, i == 0, digests + i * digest_len, digest_len);
	if (e == KYSO_OK && (e = kbuf_append(out, "]", 1)) == KYSO_OK &&
	    (e = json_member(out, "certificate", req->certificate)) == KYSO_OK &&
	    (e = json_member(out, "algorithm", req->algorithm)) == KYSO_OK &&
	    (e = json_member(out, "pin", req->pin != NULL ? secret_data(req->pin) : NULL)) ==
	    KYSO_OK && (e = json_member(out, "description", req->description)) == KYSO_OK &&
	    (e = json_member(out, "signature_format", req->signature_format)) == KYSO_OK)
		e = kbuf_append(out, "}}", 3);  /* and the NUL that ends a message */
	return e;
}

int
kyso_sign_digests(kyso_client *c, const kyso_sign_request *req,
    const unsigned char *digests, size_t digest_len, size_t n, unsigned char ***sigs,
    size_t **siglens)
{
	struct kbuf out;
	json_t *r = NULL, *list;
	size_t i;
	int e;

	*sigs = NULL;
	*siglens = NULL;
	if (req == NULL || digests == NULL || digest_len == 0 || digest_len > 64 || n == 0 ||
	    n > 1000)
		return kyso_set_error(c, KYSO_ERR_INVALID_ARG, _("kyso_sign_digests takes a signing "
		    "request and 1 to 1000 digests of 1 to 64 bytes"));
	if ((e = digests_call(&out, req, digests, digest_len, n)) == KYSO_ERR_INVALID_ARG) {
		kbuf_free(&out);
		return kyso_set_error(c, e, _("the request's PIN, certificate, algorithm, "
		    "description or signature format is not valid UTF-8"));
	}
	if ((e = kyso_rpc_frame(c, &out, e, &r)) != KYSO_OK)
		return e;
	list = json_object_get(r, "signatures");
	if (!json_is_array(list) || json_array_size(list) != n) {
		json_decref(r);
		return kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent did not send %zu "
		    "signatures"), n);
	}
	*sigs = calloc(n, sizeof(**sigs));
	*siglens = calloc(n, sizeof(**siglens));
	e = *sigs != NULL && *siglens != NULL ? KYSO_OK : KYSO_ERR_NOMEM;
	for (i = 0; e == KYSO_OK && i < n; i++) {
		const char *s = json_string_value(json_array_get(list, i));

		e = s != NULL ? b64_decode(s, &(*sigs)[i], &(*siglens)[i]) : KYSO_ERR_PROTOCOL;
	}
	json_decref(r);
	if (e == KYSO_OK)
		return KYSO_OK;
	kyso_signatures_free(*sigs, *siglens, n);
	*sigs = NULL;
	*siglens = NULL;
	return e == KYSO_ERR_NOMEM ? kyso_set_error(c, e, _("out of memory")) :
	    kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent's signature is not base64"));
}

int
kyso_sign(kyso_client *c, const kyso_sign_request *req, unsigned char **sig, size_t *siglen)
{
	json_t *p, *r = NULL;
	const char *s;
	int e;

	*sig = NULL;
	*siglen = 0;
	if (req == NULL)
		return kyso_set_error(c, KYSO_ERR_INVALID_ARG, _("no signing request (make one "
		    "with kyso_sign_request_new)"));
	if ((p = json_object()) == NULL || set_str(p, "certificate", req->certificate) ||
	    set_str(p, "algorithm", req->algorithm) ||
	    set_b64(p, "digest", req->digest, req->digest_len) ||
	    set_b64(p, "data", req->data, req->data_len) ||
	    set_str(p, "pin", req->pin != NULL ? secret_data(req->pin) : NULL) ||
	    set_str(p, "description", req->description) ||
	    set_str(p, "signature_format", req->signature_format)) {
		json_decref(p);
		return kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
	}
	e = kyso_rpc(c, "io.kyso.Agent.Sign", p, &r);
	wipe_pin(p);
	json_decref(p);
	if (e != KYSO_OK)
		return e;
	s = json_string_value(json_object_get(r, "signature"));
	e = s != NULL ? b64_decode(s, sig, siglen) : KYSO_ERR_PROTOCOL;
	json_decref(r);
	if (e != KYSO_OK)
		return kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent's signature is not base64"));
	return KYSO_OK;
}

int
kyso_login(kyso_client *c, const char *token, const char *pin, int *already_logged_in)
{
	json_t *p = json_pack("{s:s}", "token", token != NULL ? token : ""), *r = NULL;
	int e;

	if (already_logged_in != NULL)
		*already_logged_in = 0;
	if (p == NULL || set_str(p, "pin", pin)) {
		json_decref(p);
		return kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
	}
	e = kyso_rpc(c, "io.kyso.Agent.Login", p, &r);
	wipe_pin(p);
	json_decref(p);
	if (e == KYSO_OK && already_logged_in != NULL)
		*already_logged_in = json_is_true(json_object_get(r, "already_logged_in"));
	json_decref(r);
	return e;
}

int
kyso_lock(kyso_client *c)
{
	json_t *r = NULL;
	int e = kyso_rpc(c, "io.kyso.Agent.Lock", NULL, &r);

	json_decref(r);
	return e;
}

int
kyso_get_info(kyso_client *c, char **product, char **version)
{
	json_t *r;
	const char *pr, *ve;
	int e;

	if (product != NULL)
		*product = NULL;
	if (version != NULL)
		*version = NULL;
	if ((e = kyso_rpc(c, "org.varlink.service.GetInfo", NULL, &r)) != KYSO_OK)
		return e;
	pr = json_string_value(json_object_get(r, "product"));
	ve = json_string_value(json_object_get(r, "version"));
	if ((product != NULL && (*product = strdup(pr != NULL ? pr : "")) == NULL) ||
	    (version != NULL && (*version = strdup(ve != NULL ? ve : "")) == NULL)) {
		json_decref(r);
		return kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
	}
	json_decref(r);
	return KYSO_OK;
}

void
kyso_free(void *p)
{
	free(p);
}
