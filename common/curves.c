/* curves.c — the one table of elliptic curves (see curves.h). */
#include <string.h>

#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include "curves.h"

static const struct curve curves[CURVE_COUNT] = {
	[CURVE_P256] = { CURVE_P256, NID_X9_62_prime256v1, "P-256", "ec:p256", NULL, 256 },
	[CURVE_P384] = { CURVE_P384, NID_secp384r1, "P-384", "ec:p384", NULL, 384 },
	[CURVE_P521] = { CURVE_P521, NID_secp521r1, "P-521", "ec:p521", NULL, 521 },
	[CURVE_ED25519] = { CURVE_ED25519, NID_ED25519, "Ed25519", "ed25519", "edwards25519",
		255 },
};

const struct curve *
curve_get(enum curve_id id)
{
	return (unsigned)id < CURVE_COUNT ? &curves[id] : NULL;
}

const struct curve *
curve_by_group(const char *group)
{
	for (int i = 0; group != NULL && i < CURVE_COUNT; i++) {
		const char *sn = OBJ_nid2sn(curves[i].nid);

		if ((sn != NULL && strcmp(group, sn) == 0) || strcmp(group, curves[i].nist) == 0)
			return &curves[i];
	}
	return NULL;
}

size_t
curve_params(const struct curve *c, int printable, unsigned char *out, size_t len)
{
	const ASN1_OBJECT *obj;
	size_t n;

	if (printable && c->p11_name != NULL) {
		n = strlen(c->p11_name);
		if (n + 2 > len || n > 127)
			return 0;
		out[0] = 0x13;  /* PrintableString */
		out[1] = (unsigned char)n;
		memcpy(out + 2, c->p11_name, n);
		return n + 2;
	}
	if ((obj = OBJ_nid2obj(c->nid)) == NULL || (n = OBJ_length(obj)) == 0 || n > 127 ||
	    n + 2 > len)
		return 0;
	out[0] = 0x06;  /* OBJECT IDENTIFIER */
	out[1] = (unsigned char)n;
	memcpy(out + 2, OBJ_get0_data(obj), n);
	return n + 2;
}

const struct curve *
curve_by_params(const unsigned char *der, size_t len)
{
	unsigned char buf[64];

	for (int i = 0; i < CURVE_COUNT; i++)
		for (int printable = 0; printable < 2; printable++) {
			size_t n = curve_params(&curves[i], printable, buf, sizeof(buf));

			if (n != 0 && n == len && memcmp(der, buf, n) == 0)
				return &curves[i];
		}
	return NULL;
}
