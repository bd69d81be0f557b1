/* idl.h — the varlink interface descriptions, generated from docs at build time. */
#ifndef KYSO_IDL_H
#define KYSO_IDL_H

extern const char idl_io_kyso_agent[];
extern const char idl_org_varlink_service[];

#endif
