/* faulty_ckr.h — CKR names for the test module and its probe (tests/tools/mock_probe.c). */
#ifndef KYSO_FAULTY_CKR_H
#define KYSO_FAULTY_CKR_H

#include <p11-kit/pkcs11.h>

/* "CKR_PIN_LOCKED" for CKR_PIN_LOCKED; "0x…" (a static buffer) for a code it lacks. */
const char *faulty_ckr_name(CK_RV rv);

/* A CKR name or a number (0x hex or decimal); an unknown name is CKR_GENERAL_ERROR. */
CK_RV faulty_ckr_parse(const char *s);

#endif
