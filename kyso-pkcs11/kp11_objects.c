/*
 * kp11_objects.c — the objects of a token: loaded from kysod's certificate listing when
 * first needed and again after the token changed (a login can show keys), with handles
 * that stay the same for an object as long as the module is initialised; finding them
 * and reading their attributes.
 *
 * Private keys are CKA_PRIVATE: on a token that needs a login they are visible only
 * while this application is logged in (C_Login), as on a real token.
 */
#include <stdlib.h>
#include <string.h>

#include "kp11.h"
#include "kyso_err.h"

struct kp_find_op {
	CK_OBJECT_HANDLE *h;
	size_t n, pos;
};

/* The handle of (slot, certificate, class): the same one every time. */
static CK_OBJECT_HANDLE
handle_of(CK_SLOT_ID slot, const char *cert_id, CK_OBJECT_CLASS cls)
{
	struct kp_handle_rec *r;

	for (size_t i = 0; i < kp.nhandles; i++)
		if (kp.handles[i].slot == slot && kp.handles[i].cls == cls &&
		    strcmp(kp.handles[i].cert_id, cert_id) == 0)
			return kp.handles[i].h;
	if (kp.nhandles == kp.caphandles) {
		size_t cap = kp.caphandles ? 2 * kp.caphandles : 64;

		if ((r = realloc(kp.handles, cap * sizeof(*r))) == NULL)
			return CK_INVALID_HANDLE;
		kp.handles = r;
		kp.caphandles = cap;
	}
	r = &kp.handles[kp.nhandles++];
	r->slot = slot;
	memcpy(r->cert_id, cert_id, sizeof(r->cert_id));
	r->cls = cls;
	r->h = kp.next_object++;
	return r->h;
}

void
kp_handles_free(void)
{
	free(kp.handles);
	kp.handles = NULL;
	kp.nhandles = kp.caphandles = 0;
}

void
kp_objects_clear(struct kp_slot *s)
{
	for (size_t i = 0; i < s->ncerts; i++)
		kp_cert_clear(&s->certs[i]);
	free(s->certs);
	free(s->objects);
	s->certs = NULL;
	s->objects = NULL;
	s->ncerts = s->nobjects = 0;
	s->certs_loaded = 0;
	s->certs_stale = 0;
}

/* Installs the certificates kysod listed as the slot's objects. */
static CK_RV
objects_install(struct kp_slot *s, json_t *list)
{
	size_t n = json_array_size(list), nc = 0, no = 0;
	struct kp_cert *certs = n > 0 ? calloc(n, sizeof(*certs)) : NULL;
	struct kp_object *objs = n > 0 ? calloc(3 * n, sizeof(*objs)) : NULL;

	if (n > 0 && (certs == NULL || objs == NULL)) {
		free(certs);
		free(objs);
		return CKR_HOST_MEMORY;
	}
	for (size_t i = 0; i < n; i++) {
		struct kp_cert *c = &certs[nc];
		int dup = 0;

		if (kp_cert_build(json_array_get(list, i), kp.cfg.pin_mode == KP_PIN_PROGRAM,
		    c) != 0) {
			kp_log("slot %lu: a certificate kysod listed cannot be read; skipped",
			    (unsigned long)s->id);
			continue;
		}
		for (size_t k = 0; k < nc && !dup; k++)
			dup = strcmp(certs[k].id, c->id) == 0;
		if (dup) {  /* the same certificate twice on a token: one set of objects */
			kp_cert_clear(c);
			continue;
		}
		nc++;
	}
	/* the pointers into certs are taken once the array is complete */
	for (size_t i = 0; i < nc; i++) {
		struct kp_cert *c = &certs[i];
		static const CK_OBJECT_CLASS classes[] = { CKO_CERTIFICATE, CKO_PUBLIC_KEY,
			CKO_PRIVATE_KEY };

		for (size_t k = 0; k < (c->can_sign ? 3u : 1u); k++) {
			CK_OBJECT_HANDLE h = handle_of(s->id, c->id, classes[k]);

			if (h == CK_INVALID_HANDLE)
				continue;
			objs[no++] = (struct kp_object){ h, classes[k], c };
		}
	}
	kp_objects_clear(s);
	s->certs = certs;
	s->ncerts = nc;
	s->objects = objs;
	s->nobjects = no;
	s->certs_loaded = 1;
	s->certs_stale = 0;
	s->certs_gen = s->gen;
	return CKR_OK;
}

CK_RV
kp_objects_load(CK_SLOT_ID slot, int refresh_stale)
{
	unsigned long epoch = kp.epoch;
	struct kp_slot *s = kp_slot_get(slot);
	struct kp_fail f;
	char token[17];
	unsigned gen;
	json_t *list;
	int e;
	CK_RV rv;

	if (s == NULL || !s->present)
		return CKR_TOKEN_NOT_PRESENT;
	if (s->certs_loaded && s->certs_gen == s->gen && !(refresh_stale && s->certs_stale))
		return CKR_OK;
	memcpy(token, s->tok.id, sizeof(token));
	gen = s->gen;
	kp_leave();
	e = kp_agent_list_certs(token, &list, &f);
	pthread_mutex_lock(&kp.mu);
	if ((rv = kp_still(epoch)) != CKR_OK) {
		json_decref(list);
		return rv;
	}
	s = kp_slot_get(slot);
	if (e != KYSO_OK) {
		kp_log("slot %lu: cannot list the certificates of token %s: %s",
		    (unsigned long)slot, token, f.message);
		json_decref(list);
		/* stale objects are better than none; none at all is the token's failure */
		return s != NULL && s->certs_loaded && s->certs_gen == gen ? CKR_OK :
		    kp_ckr(e, f.detail, KP_OP_LIST);
	}
	rv = CKR_OK;
	if (s != NULL && s->present && s->gen == gen)
		rv = objects_install(s, list);
	json_decref(list);
	return rv;
}

/* Whether the application sees object o of slot s now. */
static int
object_visible(const struct kp_slot *s, const struct kp_object *o)
{
	return o->cls != CKO_PRIVATE_KEY || s->app_logged_in ||
	    !(s->tok.flags & KP_TOK_LOGIN_REQUIRED);
}

struct kp_object *
kp_object_get(const struct kp_session *se, CK_OBJECT_HANDLE h)
{
	struct kp_slot *s = kp_slot_get(se->slot);

	for (size_t i = 0; s != NULL && i < s->nobjects; i++)
		if (s->objects[i].h == h)
			return object_visible(s, &s->objects[i]) ? &s->objects[i] : NULL;
	return NULL;
}

static const struct kp_attrs *
object_attrs(const struct kp_object *o)
{
	return o->cls == CKO_CERTIFICATE ? &o->cert->cert : o->cls == CKO_PUBLIC_KEY ?
	    &o->cert->pub : &o->cert->priv;
}

void
kp_find_free(struct kp_find_op *f)
{
	if (f == NULL)
		return;
	free(f->h);
	free(f);
}

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct kp_session *se;
	struct kp_find_op *f = NULL;
	struct kp_slot *s;
	CK_SLOT_ID slot;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	kp_sub_drain();
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		goto out;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (se->find != NULL) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	slot = se->slot;
	/* a login or a new token: the listing may have changed */
	if ((rv = kp_objects_load(slot, 1)) != CKR_OK)
		goto out;
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		goto out;
	if (se->find != NULL) {  /* another thread of the program, meanwhile */
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	s = kp_slot_get(slot);
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (s->nobjects > 0 && (f->h = calloc(s->nobjects, sizeof(*f->h))) == NULL)) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (size_t i = 0; i < s->nobjects; i++)
		if (object_visible(s, &s->objects[i]) &&
		    kp_attrs_match(object_attrs(&s->objects[i]), pTemplate, ulCount))
			f->h[f->n++] = s->objects[i].h;
	kp_log("C_FindObjectsInit on slot %lu: %zu of %zu objects match (%lu attributes)",
	    (unsigned long)slot, f->n, s->nobjects, (unsigned long)ulCount);
	se->find = f;
	f = NULL;
out:
	kp_find_free(f);
	kp_leave();
	return rv;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct kp_session *se;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		goto out;
	if ((phObject == NULL && ulMaxObjectCount > 0) || pulObjectCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (se->find == NULL) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	while (n < ulMaxObjectCount && se->find->pos < se->find->n)
		phObject[n++] = se->find->h[se->find->pos++];
	*pulObjectCount = n;
out:
	kp_leave();
	return rv;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct kp_session *se;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = kp_session_get(hSession, &se)) == CKR_OK) {
		if (se->find == NULL)
			rv = CKR_OPERATION_NOT_INITIALIZED;
		kp_find_free(se->find);
		se->find = NULL;
	}
	kp_leave();
	return rv;
}

/* The session's object h, for the attribute functions (lock held). */
static CK_RV
object_lookup(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE h, struct kp_object **out)
{
	struct kp_session *se;
	CK_RV rv;

	*out = NULL;
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		return rv;
	if ((*out = kp_object_get(se, h)) == NULL)
		return CKR_OBJECT_HANDLE_INVALID;
	return CKR_OK;
}

CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct kp_object *o;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = object_lookup(hSession, hObject, &o)) == CKR_OK)
		rv = pTemplate == NULL && ulCount > 0 ? CKR_ARGUMENTS_BAD :
		    kp_attrs_get(object_attrs(o), pTemplate, ulCount);
	kp_leave();
	return rv;
}

CK_RV
C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
	struct kp_object *o;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = object_lookup(hSession, hObject, &o)) == CKR_OK) {
		if (pulSize == NULL)
			rv = CKR_ARGUMENTS_BAD;
		else
			*pulSize = CK_UNAVAILABLE_INFORMATION;  /* the token's memory is not ours */
	}
	kp_leave();
	return rv;
}
