/* methods_service.c — org.varlink.service: GetInfo and GetInterfaceDescription. */
#include <string.h>

#include "dispatch.h"
#include "encode.h"
#include "idl.h"
#include "kyso_err.h"
#include "params.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

enum dispatch_result
method_get_info(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { NULL };

	(void)a;
	(void)c;
	if (params_only(p, allowed, r) != KYSO_OK)
		return DISPATCH_DONE;
	reply_ok(r, json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "vendor", "kyso", "product",
	    "kysod", "version", KYSO_VERSION, "url", "man:kysod(1)",
	    "interfaces", "org.varlink.service", "io.kyso.Agent"));
	return DISPATCH_DONE;
}

enum dispatch_result
method_get_interface_description(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { "interface", NULL };
	const char *name;

	(void)a;
	(void)c;
	if (params_only(p, allowed, r) != KYSO_OK ||
	    params_string(p, "interface", 1, 256, &name, r) != KYSO_OK)
		return DISPATCH_DONE;
	if (strcmp(name, "io.kyso.Agent") == 0)
		reply_ok(r, json_pack("{s:s}", "description", idl_io_kyso_agent));
	else if (strcmp(name, "org.varlink.service") == 0)
		reply_ok(r, json_pack("{s:s}", "description", idl_org_varlink_service));
	else
		reply_fail(r, KYSO_ERR_INTERFACE_NOT_FOUND, json_pack("{s:s}", "interface", name),
		    "no interface '%.*s'", utf8_prefix(name, 128), name);
	return DISPATCH_DONE;
}
