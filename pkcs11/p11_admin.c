/*
 * p11_admin.c — what kyso-admin does to a token as a whole: slots and their state,
 * C_InitToken, the PINs (SO login, C_InitPIN, C_SetPIN) and on-token key generation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "curves.h"
#include "kyso_err.h"
#include "p11_internal.h"
#include "secret.h"

#define PIN_PTR(p) ((CK_UTF8CHAR_PTR)(uintptr_t)secret_data(p))
#define PIN_LEN(p) ((CK_ULONG)secret_len(p))

/* CK_TOKEN_INFO numbers: CK_UNAVAILABLE_INFORMATION (and CK_EFFECTIVELY_INFINITE for
 * lengths, 0) become P11_UNKNOWN. */
static unsigned long
info_num(CK_ULONG v)
{
	return v == CK_UNAVAILABLE_INFORMATION ? P11_UNKNOWN : (unsigned long)v;
}

int
p11_slot_info(struct p11_module *m, unsigned long slot, struct p11_slot_desc *d,
    struct p11_fail *fail)
{
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	int r;

	memset(d, 0, sizeof(*d));
	p11_fail_clear(fail);
	d->slot = slot;
	d->free_public = d->total_public = d->free_private = d->total_private = P11_UNKNOWN;
	d->min_pin = d->max_pin = P11_UNKNOWN;
	if ((rv = m->fn->C_GetSlotInfo(slot, &si)) != CKR_OK)
		return p11_fail_set(fail, "C_GetSlotInfo", rv);
	p11_trim_copy(d->description, si.slotDescription, sizeof(si.slotDescription));
	p11_trim_copy(d->manufacturer, si.manufacturerID, sizeof(si.manufacturerID));
	d->removable = (si.flags & CKF_REMOVABLE_DEVICE) != 0;
	if (!(si.flags & CKF_TOKEN_PRESENT))
		return KYSO_OK;
	if ((rv = m->fn->C_GetTokenInfo(slot, &ti)) != CKR_OK) {
		if (rv == CKR_TOKEN_NOT_PRESENT)
			return KYSO_OK;  /* pulled out between the two calls */
		return p11_fail_set(fail, "C_GetTokenInfo", rv);
	}
	if ((r = p11_describe_slot(m, slot, &d->token, fail)) != KYSO_OK)
		return r;
	d->token_present = 1;
	d->free_public = info_num(ti.ulFreePublicMemory);
	d->total_public = info_num(ti.ulTotalPublicMemory);
	d->free_private = info_num(ti.ulFreePrivateMemory);
	d->total_private = info_num(ti.ulTotalPrivateMemory);
	d->min_pin = info_num(ti.ulMinPinLen);
	d->max_pin = info_num(ti.ulMaxPinLen);
	return KYSO_OK;
}

int
p11_module_slots(struct p11_module *m, struct p11_slot_desc **out, size_t *n,
    struct p11_fail *fail)
{
	CK_SLOT_ID *slots;
	CK_ULONG count;
	struct p11_slot_desc *d;
	size_t got = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = p11_slot_ids(m, 0, &slots, &count, fail)) != KYSO_OK || count == 0)
		return r;
	if ((d = calloc(count, sizeof(*d))) == NULL) {
		free(slots);
		return KYSO_ERR_NOMEM;
	}
	for (CK_ULONG i = 0; i < count; i++) {
		struct p11_fail f;

		/* a slot that vanished or cannot be read is skipped, not fatal */
		if (p11_slot_info(m, slots[i], &d[got], &f) == KYSO_OK)
			got++;
	}
	free(slots);
	*out = d;
	*n = got;
	return KYSO_OK;
}

int
p11_token_init(struct p11_module *m, unsigned long slot, const struct kyso_secret *so_pin,
    const char *label, struct p11_fail *fail)
{
	CK_UTF8CHAR padded[32];
	size_t len = strlen(label);

	p11_fail_clear(fail);
	if (len > sizeof(padded))
		return KYSO_ERR_INVALID_ARG;
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, len);
	return p11_fail_set(fail, "C_InitToken",
	    m->fn->C_InitToken(slot, PIN_PTR(so_pin), PIN_LEN(so_pin), padded));
}

int
p11_session_open_rw(struct p11_module *m, unsigned long slot, struct p11_session **out,
    struct p11_fail *fail)
{
	struct p11_session *s;
	CK_RV rv;

	*out = NULL;
	p11_fail_clear(fail);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KYSO_ERR_NOMEM;
	s->m = m;
	s->slot = slot;
	rv = m->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s->h);
	if (rv != CKR_OK) {
		free(s);
		return p11_fail_set(fail, "C_OpenSession", rv);
	}
	*out = s;
	return KYSO_OK;
}

int
p11_session_login_so(struct p11_session *s, const struct kyso_secret *so_pin,
    struct p11_fail *fail)
{
	p11_fail_clear(fail);
	p11_keys_forget(s);
	return p11_fail_set(fail, "C_Login",
	    s->m->fn->C_Login(s->h, CKU_SO, PIN_PTR(so_pin), PIN_LEN(so_pin)));
}

int
p11_session_init_pin(struct p11_session *s, const struct kyso_secret *new_pin,
    struct p11_fail *fail)
{
	p11_fail_clear(fail);
	return p11_fail_set(fail, "C_InitPIN",
	    s->m->fn->C_InitPIN(s->h, PIN_PTR(new_pin), PIN_LEN(new_pin)));
}

int
p11_session_set_pin(struct p11_session *s, const struct kyso_secret *old_pin,
    const struct kyso_secret *new_pin, struct p11_fail *fail)
{
	p11_fail_clear(fail);
	return p11_fail_set(fail, "C_SetPIN", s->m->fn->C_SetPIN(s->h, PIN_PTR(old_pin),
	    PIN_LEN(old_pin), PIN_PTR(new_pin), PIN_LEN(new_pin)));
}

/* ---- key generation ---- */

static const struct {
	const char *name;
	CK_MECHANISM_TYPE mech;
	CK_KEY_TYPE ckk;
	CK_ULONG bits;  /* RSA modulus bits; curve size for the checks of the mechanism range */
	int curve;  /* enum curve_id (curves.h, its CKA_EC_PARAMS), -1 for RSA */
} key_types[P11_KEY_TYPE_COUNT] = {
	[P11_KEY_RSA_2048] = { "rsa:2048", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 2048, -1 },
	[P11_KEY_RSA_3072] = { "rsa:3072", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 3072, -1 },
	[P11_KEY_RSA_4096] = { "rsa:4096", CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, 4096, -1 },
	[P11_KEY_EC_P256] = { "ec:p256", CKM_EC_KEY_PAIR_GEN, CKK_EC, 256, CURVE_P256 },
	[P11_KEY_EC_P384] = { "ec:p384", CKM_EC_KEY_PAIR_GEN, CKK_EC, 384, CURVE_P384 },
	[P11_KEY_ED25519] = { "ed25519", CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, 255,
		CURVE_ED25519 },
};

const char *
p11_key_type_name(int type)
{
	if (type < 0 || type >= P11_KEY_TYPE_COUNT)
		return "?";
	return key_types[type].name;
}

int
p11_key_type_parse(const char *name, enum p11_key_type *out)
{
	for (int i = 0; i < P11_KEY_TYPE_COUNT; i++)
		if (strcmp(name, key_types[i].name) == 0) {
			*out = (enum p11_key_type)i;
			return KYSO_OK;
		}
	return KYSO_ERR_INVALID_ARG;
}

/*
 * Whether a key of bits fits the mechanism's range. Modules give the range in bits (RSA,
 * and EC by the specification) but some give EC in bytes; 0..0 means not said.
 */
static int
size_fits(const CK_MECHANISM_INFO *info, CK_ULONG bits)
{
	if (info->ulMinKeySize == 0 && info->ulMaxKeySize == 0)
		return 1;
	if (bits >= info->ulMinKeySize && bits <= info->ulMaxKeySize)
		return 1;
	return (bits + 7) / 8 >= info->ulMinKeySize && (bits + 7) / 8 <= info->ulMaxKeySize;
}

int
p11_slot_keygen_types(struct p11_module *m, unsigned long slot, unsigned *types,
    struct p11_fail *fail)
{
	CK_MECHANISM_TYPE *list = NULL;
	CK_ULONG count = 0;
	CK_RV rv;

	*types = 0;
	p11_fail_clear(fail);
	if ((rv = m->fn->C_GetMechanismList(slot, NULL, &count)) != CKR_OK)
		return p11_fail_set(fail, "C_GetMechanismList", rv);
	if (count == 0)
		return KYSO_OK;
	/* one spare element: see module_mechs in p11_module.c */
	if (count > 4096 || (list = calloc(count + 1, sizeof(*list))) == NULL)
		return KYSO_ERR_NOMEM;
	if ((rv = m->fn->C_GetMechanismList(slot, list, &count)) != CKR_OK) {
		free(list);
		return p11_fail_set(fail, "C_GetMechanismList", rv);
	}
	for (int t = 0; t < P11_KEY_TYPE_COUNT; t++) {
		CK_MECHANISM_INFO info;

		for (CK_ULONG i = 0; i < count; i++)
			if (list[i] == key_types[t].mech &&
			    m->fn->C_GetMechanismInfo(slot, list[i], &info) == CKR_OK &&
			    (info.flags & CKF_GENERATE_KEY_PAIR) &&
			    (size_fits(&info, key_types[t].bits) ||
			    /* Ed25519: 255 bits, though SoftHSM says 256 */
			    (t == P11_KEY_ED25519 && size_fits(&info, 256))))
				*types |= 1u << t;
	}
	free(list);
	return KYSO_OK;
}

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
#define BOOL_ATTR(type, v) { type, (void *)(uintptr_t)&(v), sizeof(CK_BBOOL) }

/* C_GenerateKeyPair with the templates for type and the given EC parameters. */
static CK_RV
keygen_call(struct p11_session *s, enum p11_key_type type, const unsigned char *params,
    size_t params_len, const unsigned char *id, size_t id_len, const char *label)
{
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY, priv_cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE ckk = key_types[type].ckk;
	CK_ULONG bits = key_types[type].bits;
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM mech = { key_types[type].mech, NULL, 0 };
	CK_ATTRIBUTE pub[12] = {
		{ CKA_CLASS, &pub_cls, sizeof(pub_cls) },
		{ CKA_KEY_TYPE, &ckk, sizeof(ckk) },
		BOOL_ATTR(CKA_TOKEN, yes),
		BOOL_ATTR(CKA_PRIVATE, no),
		BOOL_ATTR(CKA_VERIFY, yes),
		BOOL_ATTR(CKA_ENCRYPT, no),
		BOOL_ATTR(CKA_WRAP, no),
		{ CKA_ID, (void *)(uintptr_t)id, id_len },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_CLASS, &priv_cls, sizeof(priv_cls) },
		{ CKA_KEY_TYPE, &ckk, sizeof(ckk) },
		BOOL_ATTR(CKA_TOKEN, yes),
		BOOL_ATTR(CKA_PRIVATE, yes),
		BOOL_ATTR(CKA_SENSITIVE, yes),
		BOOL_ATTR(CKA_EXTRACTABLE, no),
		BOOL_ATTR(CKA_SIGN, yes),
		BOOL_ATTR(CKA_DECRYPT, no),
		BOOL_ATTR(CKA_UNWRAP, no),
		BOOL_ATTR(CKA_DERIVE, no),
		{ CKA_ID, (void *)(uintptr_t)id, id_len },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
	};
	CK_ULONG npub = 9;
	CK_OBJECT_HANDLE hpub, hpriv;

	if (ckk == CKK_RSA) {
		pub[npub++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
		pub[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)(uintptr_t)f4,
			sizeof(f4) };
	} else {
		pub[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)(uintptr_t)params,
			params_len };
	}
	return s->m->fn->C_GenerateKeyPair(s->h, &mech, pub, npub, priv,
	    sizeof(priv) / sizeof(priv[0]), &hpub, &hpriv);
}

int
p11_session_keygen(struct p11_session *s, enum p11_key_type type, const unsigned char *id,
    size_t id_len, const char *label, struct p11_fail *fail)
{
	unsigned char params[64];
	size_t plen = 0;
	CK_RV rv;

	p11_fail_clear(fail);
	if ((unsigned)type >= P11_KEY_TYPE_COUNT || id_len == 0)
		return KYSO_ERR_INVALID_ARG;
	/* Ed25519 by PKCS#11 3.0's printable name first: SoftHSM 2.6 and OpenSC's
	 * pkcs11-tool use that form */
	if (key_types[type].curve >= 0 && (plen = curve_params(curve_get(key_types[type].curve),
	    1, params, sizeof(params))) == 0)
		return KYSO_ERR_INTERNAL;
	rv = keygen_call(s, type, plen > 0 ? params : NULL, plen, id, id_len, label);
	/* Ed25519: modules that want the curve by OID rather than by name */
	if (type == P11_KEY_ED25519 && (rv == CKR_ATTRIBUTE_VALUE_INVALID ||
	    rv == CKR_DOMAIN_PARAMS_INVALID || rv == CKR_CURVE_NOT_SUPPORTED) &&
	    (plen = curve_params(curve_get(CURVE_ED25519), 0, params, sizeof(params))) != 0)
		rv = keygen_call(s, type, params, plen, id, id_len, label);
	if (rv == CKR_DOMAIN_PARAMS_INVALID || rv == CKR_CURVE_NOT_SUPPORTED ||
	    rv == CKR_KEY_SIZE_RANGE) {
		p11_fail_set(fail, "C_GenerateKeyPair", rv);
		return KYSO_ERR_UNSUPPORTED_ALG;
	}
	return p11_fail_set(fail, "C_GenerateKeyPair", rv);
}

const char *
p11_curve_name(const unsigned char *params, size_t len, unsigned *bits)
{
	const struct curve *c = curve_by_params(params, len);

	*bits = c != NULL ? c->bits : 0;
	return c != NULL ? c->kyso : NULL;
}
