/*
 * web.h — calls made on behalf of a web page: the browser host (kyso-browser-host) passes
 * the page's origin in the `origin` parameter of ListCertificates and Sign, and kysod
 * decides by the policy (kysod.conf: web_origins, web_origins_unknown) whether that page
 * may ask at all, before it looks at anything else the call asks for.
 *
 * The decision, for a normalised origin O:
 *   1. O matches an entry of web_origins: allowed;
 *   2. otherwise, unless web_origins_unknown = ask: refused (PolicyDenied, setting
 *      "web_origins"), with no dialog. An http origin (a page on this machine) is never
 *      asked about: it must be listed;
 *   3. O is in the officer's list of pages allowed always (web_store.h), or the officer
 *      allowed it "only for now" and it has asked within the last WEB_ONCE_TTL_S
 *      (dialogs.h; kept in memory): allowed;
 *   4. otherwise the officer is asked, in a dialog that names the page and the browser:
 *      Allow or Refuse, then, when allowed, whether to remember it (Always allow / Only
 *      for now). One question is shown at a time; others wait their turn. Refused,
 *      cancelled, unanswered or no dialog: Cancelled (reason refused, cancelled,
 *      timeout, no-dialog); a client that disconnects ends its question.
 * Once allowed, the call goes on as any call; its dialogs name the page, and the audit
 * record of a Sign keeps the origin (and the browser, the parent of the calling
 * process). A call without `origin` is not affected by any of this.
 */
#ifndef KYSO_WEB_H
#define KYSO_WEB_H

#include <stdatomic.h>
#include <sys/types.h>

#include <jansson.h>

#include "dispatch.h"

struct agent;
struct conn;
struct job;
struct web_ask;

/* What web_gate did with a call. */
enum web_gate {
	WEB_GATE_PASS,     /* no origin, or an allowed one (c->origin holds it): go on */
	WEB_GATE_DONE,     /* refused or invalid: r is filled */
	WEB_GATE_PENDING,  /* the officer is asked; the call is served again after the answer */
};

/* How a refused call is recorded in the audit log (signing calls only). */
enum web_audit { WEB_AUDIT_NONE, WEB_AUDIT_SIGN, WEB_AUDIT_DOCUMENTS };

/* The web side of the agent: the remembered pages and the questions. */
struct web_state;

/*
 * Sets up a->web from a->policy (the remembered pages' file, if any). Returns KYSO_OK or
 * KYSO_ERR_NOMEM.
 */
int web_init(struct agent *a);

/*
 * Ends the question on screen and those waiting (they complete as Cancelled), waits up
 * to 3 s for the dialog thread to leave, and frees a->web. Returns 1 if no thread is left
 * (the completion queue may be freed), else 0. a->web may be NULL.
 */
int web_free(struct agent *a);

/*
 * Reads the optional `origin` parameter of p (a call of c) and applies the policy; to be
 * called by each method that accepts `origin` (ListCertificates, Sign, SignDocuments),
 * after its parameters are checked and before anything is looked up. again
 * is that method: it is called once more with p when the officer allows the page;
 * audit: how the audit log records the call if the officer refuses the page (Sign: one
 * record; SignDocuments: one per document; ListCertificates: none).
 * Sets c->origin to the normalised origin ("" without one). Where kysod cannot read its
 * callers' /proc (c->whois_named), the first call with an origin first asks kysod-whois
 * for the caller's parent (the browser, which the dialogs and records name): pending
 * until the answer. Returns WEB_GATE_PASS, WEB_GATE_DONE with r filled
 * (InvalidParameter naming origin, PolicyDenied naming web_origins), or
 * WEB_GATE_PENDING (the method returns DISPATCH_PENDING).
 */
enum web_gate web_gate(struct agent *a, struct conn *c, json_t *p, method_fn again,
    enum web_audit audit, struct reply *r);

/* Finishes a JOB_WEB_ASK from the completion queue (replies, or serves the call again);
 * the caller frees it. */
void web_complete(struct agent *a, struct job *j);

/* Frees a job's question state (job_free calls it); NULL is allowed. */
void web_ask_free(struct web_ask *q);

/*
 * The program that started c's caller (its parent): *ppid and its path in exe ("?" when
 * unknown), from /proc, else as kysod-whois named it for c's first call with an origin
 * (web_gate, conn.h). For a browser host, that is the browser. Returns KYSO_OK or
 * KYSO_ERR_IO.
 */
int web_parent(const struct conn *c, pid_t *ppid, char *exe, size_t len);

struct whois_answer;

/*
 * kysod-whois answered the question web_gate asked about c's caller's parent (the
 * browser of a web page's call, asked only then: whois_async.h): c->parent is set, "?"
 * if it could not tell, and the call that waited is served again (or dropped with a
 * client that left).
 */
void web_parent_answered(struct agent *a, struct conn *c, const struct whois_answer *ans);

/* io.kyso.Agent.ListWebOrigins and ForgetWebOrigins (the methods of `kyso web-origins`). */
enum dispatch_result method_list_web_origins(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_forget_web_origins(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);

#endif
