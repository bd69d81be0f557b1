/*
 * p11_free.c — freeing what p11.h hands out; no Cryptoki here, so that both
 * implementations (pkcs11/ in process, p11rpc/ over helpers) share it.
 */
#include <stdlib.h>

#include "p11.h"

void
p11_certs_free(struct p11_cert_desc *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].der);
		free(c[i].id);
		free(c[i].label);
		free(c[i].key_label);
	}
	free(c);
}
