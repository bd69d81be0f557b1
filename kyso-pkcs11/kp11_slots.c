/*
 * kp11_slots.c — slots and tokens: one slot per token kysod lists.
 *
 * A token keeps its slot id for the life of the process (its id is kysod's stable token
 * id), also when it is pulled out (the slot stays, without CKF_TOKEN_PRESENT) and across
 * C_Finalize/C_Initialize; slot ids are never reused. One empty slot more is always
 * listed (the spare): a token plugged in later takes it, so programs that enumerate the
 * slots once see a new token in a slot they already know (as OpenSC's hotplug slot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp11.h"

/* token id -> slot id, for the whole process (slots outlive cycles) */
static struct {
	char id[17];
	CK_SLOT_ID slot;
} *idmap;
static size_t nidmap;
static CK_SLOT_ID next_slot_id = 1;

/* The map lives as long as the module is loaded: freed when it is unloaded. */
__attribute__((destructor)) static void
idmap_free(void)
{
	free(idmap);
	idmap = NULL;
	nidmap = 0;
}

struct kp_slot *
kp_slot_get(CK_SLOT_ID id)
{
	for (size_t i = 0; i < kp.nslots; i++)
		if (kp.slots[i].id == id)
			return &kp.slots[i];
	return NULL;
}

static struct kp_slot *
slot_by_token(const char *id)
{
	for (size_t i = 0; i < kp.nslots; i++)
		if (kp.slots[i].has_token && strcmp(kp.slots[i].tok.id, id) == 0)
			return &kp.slots[i];
	return NULL;
}

/* Inserts a slot with this id, keeping kp.slots sorted by id. Returns it, or NULL. */
static struct kp_slot *
slot_insert(CK_SLOT_ID id)
{
	struct kp_slot *p;
	size_t at = 0;

	if (kp.nslots >= KP_MAX_SLOTS ||
	    (p = realloc(kp.slots, (kp.nslots + 1) * sizeof(*p))) == NULL)
		return NULL;
	kp.slots = p;
	while (at < kp.nslots && kp.slots[at].id < id)
		at++;
	memmove(&kp.slots[at + 1], &kp.slots[at], (kp.nslots - at) * sizeof(*p));
	memset(&kp.slots[at], 0, sizeof(*p));
	kp.slots[at].id = id;
	kp.nslots++;
	return &kp.slots[at];
}

/* Makes sure the spare (empty, never used) slot exists. */
static void
spare_ensure(void)
{
	if (kp.nslots > 0 && !kp.slots[kp.nslots - 1].has_token)
		return;
	(void)slot_insert(next_slot_id);
}

/* The slot for a token seen now: its slot of before, or the spare. */
static struct kp_slot *
slot_for_token(const char *id)
{
	struct kp_slot *s;
	CK_SLOT_ID slot;
	void *p;

	if ((s = slot_by_token(id)) != NULL)
		return s;
	for (size_t i = 0; i < nidmap; i++)
		if (strcmp(idmap[i].id, id) == 0)
			return slot_insert(idmap[i].slot);
	/* a token this process never saw: it takes the spare slot's id for good */
	if ((p = realloc(idmap, (nidmap + 1) * sizeof(*idmap))) == NULL)
		return NULL;
	idmap = p;
	snprintf(idmap[nidmap].id, sizeof(idmap[nidmap].id), "%s", id);
	slot = idmap[nidmap].slot = next_slot_id++;
	nidmap++;
	if ((s = kp_slot_get(slot)) == NULL && (s = slot_insert(slot)) == NULL)
		return NULL;
	s->has_token = 1;
	spare_ensure();  /* a new spare (kp.slots may move) */
	return kp_slot_get(slot);
}

int
kp_token_parse(json_t *o, struct kp_token *t)
{
	static const struct {
		const char *key;
		unsigned flag;
	} flags[] = {
		{ "logged_in", KP_TOK_LOGGED_IN },
		{ "login_required", KP_TOK_LOGIN_REQUIRED },
		{ "protected_auth_path", KP_TOK_PIN_PAD },
		{ "user_pin_count_low", KP_TOK_COUNT_LOW },
		{ "user_pin_final_try", KP_TOK_FINAL_TRY },
		{ "user_pin_locked", KP_TOK_LOCKED },
		{ "user_pin_to_be_changed", KP_TOK_TO_BE_CHANGED },
	};
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *v;

	memset(t, 0, sizeof(*t));
	if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof(t->id))
		return -1;
	snprintf(t->id, sizeof(t->id), "%s", id);
#define STR(field, key) \
	if ((v = json_string_value(json_object_get(o, key))) != NULL) \
		snprintf(t->field, sizeof(t->field), "%s", v);
	STR(label, "label");
	STR(manufacturer, "manufacturer");
	STR(model, "model");
	STR(serial, "serial");
	STR(slot_description, "slot_description");
#undef STR
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (json_is_true(json_object_get(o, flags[i].key)))
			t->flags |= flags[i].flag;
	return 0;
}

/* A token is in its slot now (inserted, or still there with news). */
static void
token_here(const struct kp_token *t, int announce)
{
	struct kp_slot *s = slot_for_token(t->id);

	if (s == NULL) {
		kp_log("token %s (%s) not offered: too many slots", t->id, t->label);
		return;
	}
	s->has_token = 1;
	if (!s->present) {
		s->present = 1;
		s->gen++;
		s->app_logged_in = 0;
		s->certs_loaded = 0;
		s->tok = *t;
		kp_log("slot %lu: token '%s' (%s) present", (unsigned long)s->id, t->label, t->id);
		if (announce)
			kp_event_post(s->id);
		return;
	}
	s->tok = *t;
	s->certs_stale = 1;  /* a login may have shown keys and their flags */
}

/* A token left its slot. */
static void
token_gone(struct kp_slot *s)
{
	if (!s->present)
		return;
	s->present = 0;
	s->app_logged_in = 0;
	kp_objects_clear(s);
	kp_log("slot %lu: token '%s' (%s) removed", (unsigned long)s->id, s->tok.label,
	    s->tok.id);
	kp_event_post(s->id);
}

/* Orders the agent's tokens by label, then id: a program started again with the same
 * tokens sees the same slot ids (a SunPKCS11 configuration names a slot by its place). */
static int
token_order(const void *a, const void *b)
{
	const struct kp_token *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	return c != 0 ? c : strcmp(x->id, y->id);
}

void
kp_slots_sync(json_t *tokens, int announce)
{
	size_t n = json_array_size(tokens), got = 0;
	struct kp_token *list = n > 0 ? calloc(n, sizeof(*list)) : NULL;

	spare_ensure();
	if (n > 0 && list == NULL)
		return;  /* no memory to tell the absent: keep them rather than lose all */
	for (size_t i = 0; i < n; i++)
		if (kp_token_parse(json_array_get(tokens, i), &list[got]) == 0)
			got++;
	if (got > 1)
		qsort(list, got, sizeof(*list), token_order);
	for (size_t i = 0; i < got; i++)
		token_here(&list[i], announce);
	for (size_t i = 0; i < kp.nslots; i++) {
		int listed = 0;

		for (size_t k = 0; k < got && !listed; k++)
			listed = strcmp(list[k].id, kp.slots[i].tok.id) == 0;
		if (kp.slots[i].present && !listed)
			token_gone(&kp.slots[i]);
	}
	free(list);
}

void
kp_slot_token_event(json_t *token, int added)
{
	struct kp_token t;

	(void)added;  /* a change of a token not known is its arrival all the same */
	if (kp_token_parse(token, &t) == 0)
		token_here(&t, 1);
}

void
kp_slot_token_removed(const char *id)
{
	struct kp_slot *s = id != NULL ? slot_by_token(id) : NULL;

	if (s != NULL)
		token_gone(s);
}

void
kp_slots_all_gone(void)
{
	for (size_t i = 0; i < kp.nslots; i++)
		token_gone(&kp.slots[i]);
}

void
kp_slots_free(void)
{
	for (size_t i = 0; i < kp.nslots; i++)
		kp_objects_clear(&kp.slots[i]);
	free(kp.slots);
	kp.slots = NULL;
	kp.nslots = 0;
}

CK_RV
C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	CK_ULONG n = 0, k = 0;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (pulCount == NULL) {
		kp_leave();
		return CKR_ARGUMENTS_BAD;
	}
	kp_sub_drain();
	for (size_t i = 0; i < kp.nslots; i++)
		if (!tokenPresent || kp.slots[i].present)
			n++;
	if (pSlotList != NULL && *pulCount < n) {
		rv = CKR_BUFFER_TOO_SMALL;
	} else if (pSlotList != NULL) {
		for (size_t i = 0; i < kp.nslots; i++)
			if (!tokenPresent || kp.slots[i].present)
				pSlotList[k++] = kp.slots[i].id;
	}
	*pulCount = n;
	kp_leave();
	return rv;
}

/* Looks a slot up for a call about it, after the events (lock held). */
static CK_RV
slot_find(CK_SLOT_ID id, int need_token, struct kp_slot **out)
{
	kp_sub_drain();
	if ((*out = kp_slot_get(id)) == NULL)
		return CKR_SLOT_ID_INVALID;
	return need_token && !(*out)->present ? CKR_TOKEN_NOT_PRESENT : CKR_OK;
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct kp_slot *s;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = slot_find(slotID, 0, &s)) == CKR_OK) {
		memset(pInfo, 0, sizeof(*pInfo));
		kp_pad(pInfo->slotDescription, sizeof(pInfo->slotDescription),
		    !s->has_token ? "kyso: a token plugged in appears here" :
		    s->tok.slot_description[0] != '\0' ? s->tok.slot_description :
		    "kyso agent token");
		kp_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
		    KP_SLOT_MANUFACTURER);
		pInfo->flags = CKF_REMOVABLE_DEVICE | (s->present ? CKF_TOKEN_PRESENT : 0);
		pInfo->hardwareVersion.major = 0;
		pInfo->firmwareVersion.major = 0;
		pInfo->firmwareVersion.minor = 1;
	}
	kp_leave();
	return rv;
}

/* The application's sessions open with the token now in slot s. */
static CK_ULONG
session_count(const struct kp_slot *s)
{
	CK_ULONG n = 0;

	for (size_t i = 0; i < kp.nsessions; i++)
		if (kp.sessions[i]->slot == s->id && kp.sessions[i]->gen == s->gen)
			n++;
	return n;
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	static const struct {
		unsigned ours;
		CK_FLAGS ck;
	} flagmap[] = {
		{ KP_TOK_LOGIN_REQUIRED, CKF_LOGIN_REQUIRED },
		{ KP_TOK_PIN_PAD, CKF_PROTECTED_AUTHENTICATION_PATH },
		{ KP_TOK_COUNT_LOW, CKF_USER_PIN_COUNT_LOW },
		{ KP_TOK_FINAL_TRY, CKF_USER_PIN_FINAL_TRY },
		{ KP_TOK_LOCKED, CKF_USER_PIN_LOCKED },
		{ KP_TOK_TO_BE_CHANGED, CKF_USER_PIN_TO_BE_CHANGED },
	};
	struct kp_slot *s;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = slot_find(slotID, 1, &s)) == CKR_OK) {
		memset(pInfo, 0, sizeof(*pInfo));
		kp_pad(pInfo->label, sizeof(pInfo->label), s->tok.label);
		kp_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), s->tok.manufacturer);
		kp_pad(pInfo->model, sizeof(pInfo->model), s->tok.model);
		kp_pad(pInfo->serialNumber, sizeof(pInfo->serialNumber), s->tok.serial);
		/* the module writes nothing: kyso-admin provisions tokens */
		pInfo->flags = CKF_WRITE_PROTECTED | CKF_TOKEN_INITIALIZED |
		    CKF_USER_PIN_INITIALIZED;
		for (size_t i = 0; i < sizeof(flagmap) / sizeof(flagmap[0]); i++)
			if (s->tok.flags & flagmap[i].ours)
				pInfo->flags |= flagmap[i].ck;
		/* by default the PIN is kysod's to ask for: programs log in without one */
		if (kp.cfg.pin_mode == KP_PIN_AGENT)
			pInfo->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
		pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
		pInfo->ulSessionCount = session_count(s);
		pInfo->ulMaxRwSessionCount = 0;
		pInfo->ulRwSessionCount = 0;
		pInfo->ulMaxPinLen = 256;  /* what kysod accepts */
		pInfo->ulMinPinLen = 4;
		pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
		pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
		memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
	}
	kp_leave();
	return rv;
}

/* Looks up a present slot with its certificates loaded (lock held; may wait). */
static CK_RV
slot_loaded(CK_SLOT_ID id, struct kp_slot **out)
{
	struct kp_slot *s;
	CK_RV rv;

	*out = NULL;
	if ((rv = slot_find(id, 1, &s)) != CKR_OK)
		return rv;
	if ((rv = kp_objects_load(id, 0)) != CKR_OK)
		return rv;
	if ((s = kp_slot_get(id)) == NULL || !s->present)
		return CKR_TOKEN_NOT_PRESENT;
	*out = s;
	return CKR_OK;
}

static unsigned
slot_algs(const struct kp_slot *s)
{
	unsigned algs = 0;

	for (size_t i = 0; i < s->ncerts; i++)
		if (s->certs[i].can_sign)
			algs |= s->certs[i].algs;
	return algs;
}

CK_RV
C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
    CK_ULONG_PTR pulCount)
{
	CK_MECHANISM_TYPE list[32];
	struct kp_slot *s;
	size_t n;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (pulCount == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = slot_loaded(slotID, &s)) == CKR_OK) {
		n = kp_mechs_of(slot_algs(s), list, sizeof(list) / sizeof(list[0]));
		if (pMechanismList != NULL && *pulCount < n)
			rv = CKR_BUFFER_TOO_SMALL;
		else if (pMechanismList != NULL)
			memcpy(pMechanismList, list, n * sizeof(*list));
		*pulCount = n;
	}
	kp_leave();
	return rv;
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	const struct kp_mech *m = kp_mech_find(type);
	struct kp_slot *s;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = slot_loaded(slotID, &s)) == CKR_OK) {
		memset(pInfo, 0, sizeof(*pInfo));
		rv = CKR_MECHANISM_INVALID;
		/* the sizes of this token's keys that can use the mechanism */
		for (size_t i = 0; m != NULL && i < s->ncerts; i++) {
			const struct kp_cert *c = &s->certs[i];

			if (!c->can_sign || c->key != m->key || !kp_mech_usable(m, c->algs))
				continue;
			if (rv != CKR_OK || c->key_bits < pInfo->ulMinKeySize)
				pInfo->ulMinKeySize = c->key_bits;
			if (c->key_bits > pInfo->ulMaxKeySize)
				pInfo->ulMaxKeySize = c->key_bits;
			rv = CKR_OK;
		}
		if (rv == CKR_OK) {
			pInfo->flags = CKF_SIGN;
			if (m->family == KP_FAM_ECDSA)
				pInfo->flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
		}
	}
	kp_leave();
	return rv;
}
