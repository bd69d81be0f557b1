/*
 * ckr_names.h — CKR names for the test tools: the fault-injecting module (tests/mock), its
 * probe (mock_probe.c) and kyso-pkcs11's probe (kp11_probe.c) share this one table.
 * (kysod's own is pkcs11/p11_ckr.c; kyso-pkcs11's, kyso-pkcs11/kp11_ckr.c: each part
 * keeps its own.)
 */
#ifndef KYSO_TEST_CKR_NAMES_H
#define KYSO_TEST_CKR_NAMES_H

#include <p11-kit/pkcs11.h>

/* "CKR_PIN_LOCKED" for CKR_PIN_LOCKED; "0x…" (a thread's static buffer) for a code it lacks. */
const char *ckr_name(CK_RV rv);

/* A CKR name or a number (0x hex or decimal); an unknown name is CKR_GENERAL_ERROR. */
CK_RV ckr_parse(const char *s);

#endif
