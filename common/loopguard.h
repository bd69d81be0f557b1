/*
 * loopguard.h — how kysod recognises kyso's own PKCS#11 module (kyso-pkcs11.so), which
 * forwards to the agent: loading it into the agent would be a loop. The module exports a
 * data symbol of this name (a marker, never called), and names every slot it offers with
 * this manufacturer, so that the agent skips it even through a proxy module.
 */
#ifndef KYSO_LOOPGUARD_H
#define KYSO_LOOPGUARD_H

/* the symbol kyso-pkcs11.so exports, found with dlsym */
#define KYSO_PKCS11_MARKER "kyso_pkcs11_forwards_to_kysod"

/* CK_SLOT_INFO.manufacturerID of its slots (blank-padded to 32 bytes there) */
#define KYSO_PKCS11_SLOT_MANUFACTURER "kyso-pkcs11"

#endif
