/* jsonmem.h — make jansson wipe what it frees (requests may carry a PIN). */
#ifndef KYSO_JSONMEM_H
#define KYSO_JSONMEM_H

/* Installs wiping allocators for jansson. Call once, before any JSON is made. */
void jsonmem_install(void);

#endif
